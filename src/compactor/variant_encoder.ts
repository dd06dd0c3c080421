import { compareStrings } from '../expr/index.js'
import { type PromotionMask, isPromotedValue } from '../schema/index.js'
import { utf8Length } from '../storage/index.js'

/** One row of a VARIANT column as Parquet stores it: the key dictionary and the value. */
export interface EncodedVariant {
  metadata: Uint8Array
  value: Uint8Array
}

/**
 * Encodes a row group's VARIANT column (the Parquet Variant binary format, unshredded) from the
 * engine's plain JSON values: null, booleans, numbers, strings, arrays and objects. One metadata
 * (every key of the group, sorted) is shared by the group's rows, and every value is written into
 * one buffer that grows by doubling and is reused from one row group to the next: the values are
 * views into it, valid until the next `reset()` (the writer copies them into its pages first).
 * hyparquet-writer's own encoder allocated a fresh, doubling buffer per value and per nested
 * container: 23 % of a pass's CPU, most of its garbage.
 */
export class VariantEncoder {
  private buf = new Uint8Array(1 << 16)
  private view = new DataView(this.buf.buffer)
  private at = 0
  /** Data sizes (after header and offsets) of the containers of the value being written. */
  private readonly sizes = new Map<object, number>()
  private readonly utf8 = new TextEncoder()
  private readonly fieldPool: number[][] = []
  private readonly valuePool: unknown[][] = []
  private readonly maskPool: (PromotionMask | undefined)[][] = []
  private depth = 0

  /** Starts a new row group: the values handed out before are no longer valid. */
  reset(): void {
    this.at = 0
  }

  /**
   * The column's rows, `undefined` kept as a missing (Parquet null) row. With a `mask`, the
   * promoted places it names are written as variant nulls (layout 2), the values left unchanged.
   */
  encodeColumn(values: readonly unknown[], mask?: PromotionMask): (EncodedVariant | undefined)[] {
    const keys = new Set<string>()
    for (const v of values) collectKeys(v, keys)
    const dictionary = [...keys].sort(compareStrings)
    const ids = new Map<string, number>()
    for (let i = 0; i < dictionary.length; i++) ids.set(dictionary[i]!, i)
    const metadata = this.metadataOf(dictionary)
    const out: (EncodedVariant | undefined)[] = new Array(values.length)
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === undefined) continue
      const size = this.sizeOf(v, ids, mask)
      this.ensure(size)
      const start = this.at
      this.write(v, ids, mask)
      this.sizes.clear()
      out[i] = { metadata, value: this.buf.subarray(start, this.at) }
    }
    return out
  }

  /** Header, dictionary size, offsets and the keys' UTF-8 bytes (sorted, so flagged sorted). */
  private metadataOf(dictionary: readonly string[]): Uint8Array {
    let bytes = 0
    for (const k of dictionary) bytes += utf8Length(k)
    const width = widthOf(Math.max(bytes, dictionary.length))
    const size = 1 + width * (dictionary.length + 2) + bytes
    this.ensure(size)
    const start = this.at
    this.byte(1 | 1 << 4 | (width - 1) << 6)
    this.uint(dictionary.length, width)
    let offset = 0
    for (const k of dictionary) {
      this.uint(offset, width)
      offset += utf8Length(k)
    }
    this.uint(offset, width)
    for (const k of dictionary) this.at += this.utf8.encodeInto(k, this.buf.subarray(this.at)).written
    return this.buf.subarray(start, this.at)
  }

  /** The encoded size of `v`; each container's data size is recorded in `sizes`. */
  private sizeOf(v: unknown, ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined): number {
    if (v === null || v === undefined || typeof v === 'boolean') return 1
    if (typeof v === 'number') return 1 + numberWidth(v)
    if (typeof v === 'string') {
      const n = stringBytes(v)
      return n <= 63 ? 1 + n : 5 + n
    }
    let data = 0
    let count = 0
    let maxId = 0
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const at = mask?.indexes.get(i)
        data += at && isPromotedValue(at.leaf, v[i]) ? 1 : this.sizeOf(v[i], ids, at)
      }
      count = v.length
    } else {
      const o = v as Record<string, unknown>
      for (const k in o) {
        const x = o[k]
        if (x === undefined) continue
        const at = mask?.keys.get(k)
        data += at && isPromotedValue(at.leaf, x) ? 1 : this.sizeOf(x, ids, at)
        maxId = Math.max(maxId, ids.get(k)!)
        count++
      }
    }
    this.sizes.set(v, data)
    const head = 1 + (count > 255 ? 4 : 1) + (Array.isArray(v) ? 0 : count * widthOf(maxId))
    return head + (count + 1) * widthOf(data) + data
  }

  private write(v: unknown, ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined): void {
    if (v === null || v === undefined) return this.byte(0)
    if (v === true) return this.byte(1 << 2)
    if (v === false) return this.byte(2 << 2)
    if (typeof v === 'number') return this.number(v)
    if (typeof v === 'string') return this.string(v)
    const data = this.sizes.get(v)!
    if (Array.isArray(v)) return this.array(v, data, ids, mask)
    this.object(v as Record<string, unknown>, data, ids, mask)
  }

  private number(v: number): void {
    const width = numberWidth(v)
    if (width === 8) {
      this.byte(7 << 2)
      this.view.setFloat64(this.at, v, true)
    } else {
      this.byte((width === 1 ? 3 : width === 2 ? 4 : 5) << 2)
      if (width === 1) this.view.setInt8(this.at, v)
      else if (width === 2) this.view.setInt16(this.at, v, true)
      else this.view.setInt32(this.at, v, true)
    }
    this.at += width
  }

  private string(v: string): void {
    if (v.length <= ASCII_LOOP_UNITS && this.ascii(v)) return
    const n = utf8Length(v)
    if (n <= 63) this.byte(n << 2 | 1)
    else {
      this.byte(16 << 2)
      this.uint(n, 4)
    }
    this.at += this.utf8.encodeInto(v, this.buf.subarray(this.at)).written
  }

  /**
   * Writes an ASCII string (header and bytes) by a loop over its units, faster than TextEncoder for
   * the short strings events are made of; false, having written nothing that counts, for another.
   */
  private ascii(v: string): boolean {
    const n = v.length
    const head = n <= 63 ? 1 : 5
    const buf = this.buf
    const at = this.at + head
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i)
      if (c >= 0x80) return false
      buf[at + i] = c
    }
    if (head === 1) this.byte(n << 2 | 1)
    else {
      this.byte(16 << 2)
      this.uint(n, 4)
    }
    this.at += n
    return true
  }

  /** Header, count, offsets, then the elements, whose sizes the offsets are computed from. */
  private array(
    v: readonly unknown[], data: number, ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined,
  ): void {
    const large = v.length > 255
    const width = widthOf(data)
    this.byte(((width - 1) | (large ? 1 : 0) << 2) << 2 | 3)
    this.uint(v.length, large ? 4 : 1)
    const offsets = this.at
    this.at += (v.length + 1) * width
    const start = this.at
    for (let i = 0; i < v.length; i++) {
      this.uintAt(offsets + i * width, this.at - start, width)
      const at = mask?.indexes.get(i)
      this.write(at && isPromotedValue(at.leaf, v[i]) ? null : v[i], ids, at)
    }
    this.uintAt(offsets + v.length * width, this.at - start, width)
  }

  /** Fields by id (the dictionary is sorted, so by name, as the format requires), values in that order. */
  private object(
    o: Record<string, unknown>, data: number, ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined,
  ): void {
    // Scratch arrays per nesting depth, reused: an object's fields sorted by id, by insertion
    // (objects have few keys), with their values alongside.
    const depth = this.depth++
    const fields = (this.fieldPool[depth] ??= [])
    const values = (this.valuePool[depth] ??= [])
    const masks = (this.maskPool[depth] ??= [])
    let n = 0
    for (const k in o) {
      let x = o[k]
      if (x === undefined) continue
      const id = ids.get(k)!
      const at = mask?.keys.get(k)
      if (at && isPromotedValue(at.leaf, x)) x = null
      let i = n++
      while (i > 0 && fields[i - 1]! > id) {
        fields[i] = fields[i - 1]!
        values[i] = values[i - 1]
        masks[i] = masks[i - 1]
        i--
      }
      fields[i] = id
      values[i] = x
      masks[i] = at
    }
    const large = n > 255
    const idWidth = widthOf(n ? fields[n - 1]! : 0)
    const width = widthOf(data)
    this.byte(((width - 1) | (idWidth - 1) << 2 | (large ? 1 : 0) << 4) << 2 | 2)
    this.uint(n, large ? 4 : 1)
    for (let i = 0; i < n; i++) this.uint(fields[i]!, idWidth)
    const offsets = this.at
    this.at += (n + 1) * width
    const start = this.at
    for (let i = 0; i < n; i++) {
      this.uintAt(offsets + i * width, this.at - start, width)
      this.write(values[i], ids, masks[i])
      values[i] = undefined // let the value go
      masks[i] = undefined
    }
    this.uintAt(offsets + n * width, this.at - start, width)
    this.depth--
  }

  private ensure(size: number): void {
    if (this.at + size <= this.buf.length) return
    // Values handed out earlier keep the old buffer alive until the writer has copied them.
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + size))
    grown.set(this.buf.subarray(0, this.at))
    this.buf = grown
    this.view = new DataView(grown.buffer)
  }

  private byte(b: number): void {
    this.buf[this.at++] = b
  }

  private uint(v: number, width: number): void {
    this.uintAt(this.at, v, width)
    this.at += width
  }

  private uintAt(at: number, v: number, width: number): void {
    for (let i = 0; i < width; i++) this.buf[at + i] = (v >>> (8 * i)) & 0xff
  }
}

function collectKeys(v: unknown, keys: Set<string>): void {
  if (v === null || typeof v !== 'object') return
  if (Array.isArray(v)) {
    for (const x of v) collectKeys(x, keys)
    return
  }
  const o = v as Record<string, unknown>
  for (const k in o) {
    if (o[k] === undefined) continue
    keys.add(k)
    collectKeys(o[k], keys)
  }
}

/** Strings up to this many units are measured and written by a JavaScript loop when they are ASCII. */
const ASCII_LOOP_UNITS = 256

/** A string's UTF-8 size: its length when it is ASCII (checked by a loop for a short one), else utf8Length. */
function stringBytes(v: string): number {
  if (v.length > ASCII_LOOP_UNITS) return utf8Length(v)
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) >= 0x80) return utf8Length(v)
  return v.length
}

/** Bytes of a number's payload: int8/16/32 for integers that fit, else a double (8). */
function numberWidth(v: number): number {
  if (!Number.isInteger(v)) return 8
  if (v >= -128 && v <= 127) return 1
  if (v >= -32768 && v <= 32767) return 2
  if (v >= -2147483648 && v <= 2147483647) return 4
  return 8
}

/** Smallest width (1–4 bytes) that holds `v`. */
function widthOf(v: number): number {
  return v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffff ? 3 : 4
}
