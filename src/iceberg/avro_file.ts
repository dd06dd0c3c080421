/**
 * Avro object container files (Avro 1.12 specification, "Object Container Files" and "Binary
 * Encoding"), for Iceberg's manifests and manifest lists, over the subset of Avro their schemas use:
 * null, boolean, int, long, double, string, bytes, records, arrays, and unions with null. Codec null.
 *
 * Written here rather than with avsc because avsc generates its encoders with `new Function`, which
 * workerd forbids ("Code generation from strings disallowed"; mtth/avsc#401), and the compactor that
 * publishes runs in a Worker. The tests check every byte against avsc (same datum encoding, and avsc
 * decodes our files) and read the tables with icebird.
 */

/** Other attributes (Iceberg's `field-id`, `element-id`, `logicalType`) are kept in the header as written. */
export type AvroType =
  | 'null' | 'boolean' | 'int' | 'long' | 'double' | 'string' | 'bytes'
  | AvroType[]
  | { type: 'record'; name: string; fields: AvroField[]; [attr: string]: unknown }
  | { type: 'array'; items: AvroType; [attr: string]: unknown }

export interface AvroField {
  name: string
  type: AvroType
  [attr: string]: unknown
}

const MAGIC = [0x4f, 0x62, 0x6a, 0x01] // 'Obj' 1
const UTF8 = new TextEncoder()
const FROM_UTF8 = new TextDecoder()

export class AvroError extends Error {
  override name = 'AvroError'
}

class Out {
  private buf = new Uint8Array(4096)
  length = 0
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n))
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }
  byte(b: number): void { this.room(1); this.buf[this.length++] = b }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.length); this.length += b.length }
  /** A zig-zag varint (int and long); exact for safe integers, by arithmetic rather than 32-bit bitwise ops. */
  long(n: number): void {
    if (!Number.isSafeInteger(n)) throw new AvroError(`not an integer Avro can hold exactly: ${n}`)
    let z = n >= 0 ? n * 2 : -n * 2 - 1
    while (z >= 0x80) { this.byte((z % 0x80) | 0x80); z = Math.floor(z / 0x80) }
    this.byte(z)
  }
  double(x: number): void { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, x, true); this.bytes(b) }
  done(): Uint8Array { return this.buf.slice(0, this.length) }
}

/** Writes one value; an AvroError's message starts with the path to the value (built only on failure). */
function write(out: Out, type: AvroType, v: unknown): void {
  if (Array.isArray(type)) {
    const i = v === null || v === undefined ? type.indexOf('null') : type.findIndex(t => t !== 'null')
    if (i < 0) throw new AvroError(`: no branch of ${JSON.stringify(type)} takes ${String(v)}`)
    out.long(i)
    write(out, type[i]!, v)
    return
  }
  if (typeof type === 'object') {
    if (type.type === 'record') {
      if (!v || typeof v !== 'object') throw new AvroError(`: record ${type.name} needs an object`)
      for (const f of type.fields) {
        try {
          write(out, f.type, (v as Record<string, unknown>)[f.name])
        } catch (e) {
          throw e instanceof AvroError ? new AvroError(`.${f.name}${e.message}`) : e
        }
      }
      return
    }
    if (!Array.isArray(v)) throw new AvroError(': needs an array')
    if (v.length) {
      out.long(v.length)
      for (let i = 0; i < v.length; i++) {
        try {
          write(out, type.items, v[i])
        } catch (e) {
          throw e instanceof AvroError ? new AvroError(`[${i}]${e.message}`) : e
        }
      }
    }
    out.long(0)
    return
  }
  const fail = () => new AvroError(`: ${JSON.stringify(v)} is not an Avro ${type}`)
  switch (type) {
    case 'null': if (v !== null && v !== undefined) throw fail(); return
    case 'boolean': if (typeof v !== 'boolean') throw fail(); out.byte(v ? 1 : 0); return
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw fail()
      out.long(v)
      return
    case 'long': if (typeof v !== 'number') throw fail(); out.long(v); return
    case 'double': if (typeof v !== 'number') throw fail(); out.double(v); return
    case 'string': if (typeof v !== 'string') throw fail(); writeBytes(out, UTF8.encode(v)); return
    case 'bytes': if (!(v instanceof Uint8Array)) throw fail(); writeBytes(out, v); return
  }
}

function writeBytes(out: Out, b: Uint8Array): void {
  out.long(b.length)
  out.bytes(b)
}

/** A container file: header (schema as given, so Iceberg's field ids reach readers; `meta`), one block. */
export function encodeAvroFile(
  schema: AvroType, records: readonly unknown[], meta: Record<string, string>,
): Uint8Array {
  const out = new Out()
  out.bytes(new Uint8Array(MAGIC))
  const entries = Object.entries({ ...meta, 'avro.schema': JSON.stringify(schema), 'avro.codec': 'null' })
  out.long(entries.length)
  for (const [k, v] of entries) {
    writeBytes(out, UTF8.encode(k))
    writeBytes(out, UTF8.encode(v))
  }
  out.long(0)
  const sync = crypto.getRandomValues(new Uint8Array(16))
  out.bytes(sync)
  if (records.length) {
    const block = new Out()
    records.forEach((r, i) => datum(block, schema, r, `record ${i}`))
    out.long(records.length)
    writeBytes(out, block.done())
    out.bytes(sync)
  }
  return out.done()
}

/** One datum's binary encoding (for tests against other Avro implementations). */
export function encodeAvroDatum(schema: AvroType, v: unknown): Uint8Array {
  const out = new Out()
  datum(out, schema, v, 'datum')
  return out.done()
}

function datum(out: Out, schema: AvroType, v: unknown, what: string): void {
  try {
    write(out, schema, v)
  } catch (e) {
    throw e instanceof AvroError ? new AvroError(`${what}${e.message}`) : e
  }
}

class In {
  pos = 0
  constructor(readonly b: Uint8Array, readonly what: string) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new AvroError(`${this.what}: ends early at byte ${this.pos}`)
    return this.b[this.pos++]!
  }
  long(): number {
    let z = 0, scale = 1, b: number
    do { b = this.byte(); z += (b & 0x7f) * scale; scale *= 0x80 } while (b & 0x80)
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2
  }
  bytes(): Uint8Array {
    const n = this.long()
    if (n < 0 || this.pos + n > this.b.length) throw new AvroError(`${this.what}: bad length ${n} at ${this.pos}`)
    this.pos += n
    return this.b.subarray(this.pos - n, this.pos)
  }
}

function read(r: In, type: AvroType): unknown {
  if (Array.isArray(type)) {
    const branch = type[r.long()]
    if (branch === undefined) throw new AvroError(`${r.what}: bad union branch`)
    return read(r, branch)
  }
  if (typeof type === 'object') {
    if (type.type === 'record') {
      const rec: Record<string, unknown> = {}
      for (const f of type.fields) rec[f.name] = read(r, f.type)
      return rec
    }
    const items: unknown[] = []
    for (let n = r.long(); n !== 0; n = r.long()) {
      if (n < 0) { r.long(); n = -n } // a block with its byte size
      for (let i = 0; i < n; i++) items.push(read(r, type.items))
    }
    return items
  }
  switch (type) {
    case 'null': return null
    case 'boolean': return r.byte() === 1
    case 'int': case 'long': return r.long()
    case 'double': {
      if (r.pos + 8 > r.b.length) throw new AvroError(`${r.what}: ends early at byte ${r.pos}`)
      const b = r.b.slice(r.pos, r.pos + 8)
      r.pos += 8
      return new DataView(b.buffer).getFloat64(0, true)
    }
    case 'string': return FROM_UTF8.decode(r.bytes())
    case 'bytes': return r.bytes().slice()
  }
}

export interface AvroFile {
  /** The header's metadata, as text. */
  metadata: Record<string, string>
  /** The writer's schema, from the header. */
  schema: AvroType
  records: Record<string, unknown>[]
}

/** Reads a container file this module wrote (codec null, the types above; the writer's schema from the header). */
export function decodeAvroFile(bytes: Uint8Array, what = 'Avro file'): AvroFile {
  const r = new In(bytes, what)
  if (MAGIC.some(b => r.byte() !== b)) throw new AvroError(`${what}: not an Avro container file`)
  const metadata: Record<string, string> = {}
  for (let n = r.long(); n !== 0; n = r.long()) {
    if (n < 0) { r.long(); n = -n }
    for (let i = 0; i < n; i++) metadata[FROM_UTF8.decode(r.bytes())] = FROM_UTF8.decode(r.bytes())
  }
  if ((metadata['avro.codec'] ?? 'null') !== 'null') throw new AvroError(`${what}: codec ${metadata['avro.codec']}`)
  const schema = JSON.parse(metadata['avro.schema'] ?? 'null') as AvroType
  r.pos += 16
  const records: Record<string, unknown>[] = []
  while (r.pos < bytes.length) {
    const count = r.long()
    const block = new In(r.bytes(), what)
    for (let i = 0; i < count; i++) records.push(read(block, schema) as Record<string, unknown>)
    r.pos += 16
  }
  return { metadata, schema, records }
}
