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
 *
 * One walk per value: a container reserves room for its header with the widest offsets, writes
 * its elements after it, then moves them back to where the header of the widths they need ends
 * (a native copyWithin of a few hundred bytes, cheaper than measuring every value first).
 */
export class VariantEncoder {
  private buf = new Uint8Array(1 << 16)
  private view = new DataView(this.buf.buffer)
  private at = 0
  private readonly utf8 = new TextEncoder()
  /** Scratch arrays per nesting depth, reused: an object's field ids, values and masks; offsets. */
  private readonly fieldPool: number[][] = []
  private readonly valuePool: unknown[][] = []
  private readonly maskPool: (PromotionMask | undefined)[][] = []
  private readonly offsetPool: number[][] = []
  private depth = 0

  /** Starts a new row group: the values handed out before are no longer valid. */
  reset(): void {
    this.at = 0
  }

  /**
   * The column's rows, `undefined` kept as a missing (Parquet null) row. With a `mask`, the
   * promoted places it names are written as variant nulls (layout 2), the values left unchanged.
   * `collected`: the keys under the values, when the caller gathered them already (RowMeter).
   */
  encodeColumn(
    values: readonly unknown[], mask?: PromotionMask, collected?: ReadonlySet<string>,
  ): (EncodedVariant | undefined)[] {
    let keys = collected
    if (!keys) {
      const all = new Set<string>()
      for (const v of values) collectKeys(v, all)
      keys = all
    }
    const dictionary = [...keys].sort(compareStrings)
    const ids = new Map<string, number>()
    for (let i = 0; i < dictionary.length; i++) ids.set(dictionary[i]!, i)
    const metadata = this.metadataOf(dictionary)
    const out: (EncodedVariant | undefined)[] = new Array(values.length)
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === undefined) continue
      const start = this.at
      this.write(v, ids, mask)
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

  private write(v: unknown, ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined): void {
    if (typeof v === 'string') return this.string(v)
    if (typeof v === 'number') return this.number(v)
    if (v === null || v === undefined || typeof v === 'boolean') {
      this.ensure(1)
      return this.byte(v === true ? 1 << 2 : v === false ? 2 << 2 : 0)
    }
    if (Array.isArray(v)) return this.array(v, ids, mask)
    this.object(v as Record<string, unknown>, ids, mask)
  }

  private number(v: number): void {
    const width = numberWidth(v)
    this.ensure(1 + width)
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
    this.ensure(5 + n)
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
    this.ensure(head + n)
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

  /** Header, count, offsets, then the elements. */
  private array(v: readonly unknown[], ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined): void {
    const n = v.length
    const countWidth = n > 255 ? 4 : 1
    const offsets = (this.offsetPool[this.depth++] ??= [])
    const start = this.open(1 + countWidth + (n + 1) * 4)
    const dataStart = this.at
    for (let i = 0; i < n; i++) {
      offsets[i] = this.at - dataStart
      const at = mask?.indexes.get(i)
      this.write(at && isPromotedValue(at.leaf, v[i]) ? null : v[i], ids, at)
    }
    const width = this.close(start, dataStart, 1 + countWidth, n, offsets)
    this.buf[start] = ((width - 1) | (countWidth === 4 ? 1 : 0) << 2) << 2 | 3
    this.uintAt(start + 1, n, countWidth)
    this.depth--
  }

  /** Fields by id (the dictionary is sorted, so by name, as the format requires), values in that order. */
  private object(o: Record<string, unknown>, ids: ReadonlyMap<string, number>, mask: PromotionMask | undefined): void {
    // An object's fields sorted by id, by insertion (objects have few keys), with their values alongside.
    const depth = this.depth++
    const fields = (this.fieldPool[depth] ??= [])
    const values = (this.valuePool[depth] ??= [])
    const masks = (this.maskPool[depth] ??= [])
    const offsets = (this.offsetPool[depth] ??= [])
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
    const countWidth = n > 255 ? 4 : 1
    const idWidth = widthOf(n ? fields[n - 1]! : 0)
    const ids0 = 1 + countWidth
    const start = this.open(ids0 + n * idWidth + (n + 1) * 4)
    const dataStart = this.at
    for (let i = 0; i < n; i++) {
      offsets[i] = this.at - dataStart
      this.write(values[i], ids, masks[i])
      values[i] = undefined // let the value go
      masks[i] = undefined
    }
    const width = this.close(start, dataStart, ids0 + n * idWidth, n, offsets)
    this.buf[start] = ((width - 1) | (idWidth - 1) << 2 | (countWidth === 4 ? 1 : 0) << 4) << 2 | 2
    this.uintAt(start + 1, n, countWidth)
    for (let i = 0; i < n; i++) this.uintAt(start + ids0 + i * idWidth, fields[i]!, idWidth)
    this.depth--
  }

  /** Reserves a container's header with 4-byte offsets; returns where it starts (its elements follow). */
  private open(reserve: number): number {
    this.ensure(reserve)
    const start = this.at
    this.at += reserve
    return start
  }

  /**
   * Ends a container whose `n` elements were written from `dataStart` (offsets[i] where each
   * starts): moves them back behind a header of `fixed` bytes and offsets of the width their size
   * needs, writes the offsets, and returns that width (the caller writes the rest of the header).
   */
  private close(start: number, dataStart: number, fixed: number, n: number, offsets: number[]): number {
    const data = this.at - dataStart
    const width = widthOf(data)
    const begin = start + fixed + (n + 1) * width
    if (begin < dataStart) this.buf.copyWithin(begin, dataStart, this.at)
    for (let i = 0; i < n; i++) this.uintAt(start + fixed + i * width, offsets[i]!, width)
    this.uintAt(start + fixed + n * width, data, width)
    this.at = begin + data
    return width
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

/** Strings up to this many units are written by a JavaScript loop when they are ASCII. */
const ASCII_LOOP_UNITS = 256

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
