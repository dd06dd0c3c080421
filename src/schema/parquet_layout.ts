import type { ColumnSource } from 'hyparquet-writer'
import type { CollectionSchema, PromotedColumn } from './collection_schema.js'
import type { FieldSpec } from './field_types.js'
import { type StoredRow, typedValue } from './row_codec.js'

/** A Parquet column as the writer needs it, minus the data. */
export type ColumnSpec = Omit<ColumnSource, 'data'>

/** A column whose min/max the manifest records, so files can be pruned without opening them. */
export interface StatColumn {
  name: string
  kind: 'time' | 'string' | 'number'
}

/**
 * How a collection is laid out in Parquet: one typed column per scalar field, VARIANT
 * for variant and array fields, then the promoted hot paths as typed columns (moved out of
 * their variant, so each value is stored once and engines can filter and prune on them).
 */
export function parquetColumns(schema: CollectionSchema): ColumnSpec[] {
  const cols: ColumnSpec[] = []
  for (const f of schema.fields) {
    if (f.array || f.type === 'variant') {
      cols.push({ name: f.name, type: 'VARIANT', nullable: !f.required || f.array, statistics: false })
      continue
    }
    const type = ({
      string: 'STRING', int: 'INT64', double: 'DOUBLE', boolean: 'BOOLEAN', timestamp: 'TIMESTAMP',
    } as const)[f.type]
    cols.push({ name: f.name, type, nullable: !f.required, ...encodingOf(f.type) })
  }
  for (const p of schema.promoted) {
    cols.push({
      name: p.name, type: p.type === 'string' ? 'STRING' : p.type === 'int' ? 'INT64' : 'DOUBLE', nullable: true,
      ...encodingOf(p.type),
    })
  }
  return cols
}

/**
 * The encoding a column of this type is written with, chosen by measurement (docs/formats.md): a
 * timestamp, sorted in our files, as DELTA_BINARY_PACKED (the time column of an hour's file: 6.2 KB
 * plain, 2.3 KB delta, per 1,239 rows). Other columns take the writer's choice: a dictionary when it
 * pays, else PLAIN; DELTA for ints and DELTA_BYTE_ARRAY for strings came out larger or within 1 %.
 */
function encodingOf(type: string): Pick<ColumnSpec, 'encoding'> {
  return type === 'timestamp' ? { encoding: 'DELTA_BINARY_PACKED' } : {}
}

export function statColumns(schema: CollectionSchema): StatColumn[] {
  const out: StatColumn[] = []
  for (const f of schema.fields) {
    if (f.array) continue
    if (f.type === 'timestamp') out.push({ name: f.name, kind: 'time' })
    else if (f.type === 'string') out.push({ name: f.name, kind: 'string' })
    else if (f.type === 'int' || f.type === 'double') out.push({ name: f.name, kind: 'number' })
  }
  for (const p of schema.promoted) out.push({ name: p.name, kind: p.type === 'string' ? 'string' : 'number' })
  return out
}

/**
 * The Parquet layout this build writes, in every file's key/value metadata under LAYOUT_KEY.
 * 1 (no entry): every promoted value is kept twice, in its column and inside its VARIANT.
 * 2: a promoted value lives only in its column; inside the VARIANT its place holds null.
 */
export const PARQUET_LAYOUT = 2
export const LAYOUT_KEY = 'parquedb.layout'
/** The layouts this build reads; a file of another is a ParquetLayoutError, never a guess. */
export const PARQUET_LAYOUTS_READ: readonly number[] = [1, 2]

export class ParquetLayoutError extends Error {
  override name = 'ParquetLayoutError'
}

/**
 * Layout 2 files record the paths they promoted under PROMOTED_KEY, as JSON [{ name, path, type }]:
 * a read puts each value back where the file took it from, whatever the schema promotes now (a
 * promotion removed, renamed or re-pointed since the file was written).
 */
export const PROMOTED_KEY = 'parquedb.promoted'

/** A promotion as a file recorded it. */
export type FilePromotion = Pick<PromotedColumn, 'name' | 'path' | 'type'>

/** The key/value entry recording the promotions a file of this schema is written with. */
export function promotedMetadata(schema: CollectionSchema): { key: string; value: string } {
  const list = schema.promoted.map(p => ({ name: p.name, path: p.path, type: p.type }))
  return { key: PROMOTED_KEY, value: JSON.stringify(list) }
}

/** Whether a file's promotion `f` of a column is `p`, the current one: the same path and type. */
export function samePromotion(p: FilePromotion, f: FilePromotion | undefined): boolean {
  return f !== undefined && f.type === p.type && f.path.length === p.path.length &&
    f.path.every((k, i) => k === p.path[i])
}

/**
 * A short digest of a schema's promotions, recorded with each data file in the manifest: a promoted
 * column's statistics there describe the path and type the file promoted, so pruning trusts them
 * only while the schema still promotes the same (a re-pointed or retyped column's old statistics
 * would skip files that hold matches). Any change to the list changes it; "" for none.
 */
export function promotionDigest(promoted: readonly FilePromotion[]): string {
  if (!promoted.length) return ''
  const text = JSON.stringify([...promoted].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(p => [p.name, p.path, p.type]))
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0
  }
  return h1.toString(36) + h2.toString(36)
}

/**
 * The promotions a file's values were taken out of their VARIANT for: none in layout 1 (values
 * stay in the VARIANT), the file's own PROMOTED_KEY in layout 2, or, for a layout 2 file written
 * before the entry existed, the current schema's (the best guess left).
 */
export function promotedOf(
  kv: readonly { key: string; value?: string }[] | undefined, schema: CollectionSchema, layout: number, file: string,
): readonly FilePromotion[] {
  if (layout < 2) return []
  const entry = kv?.find(e => e.key === PROMOTED_KEY)
  if (!entry) return schema.promoted
  let parsed: unknown
  try {
    parsed = JSON.parse(entry.value ?? '')
  } catch {
    parsed = undefined
  }
  const valid = Array.isArray(parsed) && parsed.every(p => p && typeof p.name === 'string' &&
    Array.isArray(p.path) && p.path.length > 0 && p.path.every((k: unknown) => typeof k === 'string') &&
    ['string', 'int', 'double'].includes(p.type))
  if (!valid) {
    throw new ParquetLayoutError(`${file}: key/value metadata ${PROMOTED_KEY} is not a JSON list of ` +
      `{ name, path, type }: ${JSON.stringify(entry.value)}; the file is damaged or not parquedb's`)
  }
  return parsed as FilePromotion[]
}

/** A file's layout from its key/value metadata: 1 without the entry (written before layouts had versions). */
export function layoutOf(kv: readonly { key: string; value?: string }[] | undefined, file: string): number {
  const entry = kv?.find(e => e.key === LAYOUT_KEY)
  if (!entry) return 1
  const v = Number(entry.value)
  if (!/^[1-9][0-9]*$/.test(entry.value ?? '') || !PARQUET_LAYOUTS_READ.includes(v)) {
    throw new ParquetLayoutError(`${file}: Parquet layout ${JSON.stringify(entry.value)} is not one this build ` +
      `reads (${PARQUET_LAYOUTS_READ.join(', ')}); a newer parquedb wrote it: upgrade every reader first`)
  }
  return v
}

/**
 * The promoted paths under one VARIANT field, as a tree the VARIANT encoder walks along with a value:
 * where it reaches a `leaf` by plain property steps (array elements by index, object keys own) and
 * the value there is of a promoted type, it writes a variant null in its place (layout 2). That is
 * exactly where promotedValue finds the column's value, so a value is stored once, in its column.
 */
export interface PromotionMask {
  /** The promoted types of the path ending here (two promotions may share a path). */
  leaf: ('string' | 'int' | 'double')[]
  keys: Map<string, PromotionMask>
  /** Children for array elements: a path step of digits (`exceptions.0.name`). */
  indexes: Map<number, PromotionMask>
}

/** The masks of a schema's promotions, by the VARIANT field they start in. */
export function promotionMasks(promoted: readonly PromotedColumn[]): Map<string, PromotionMask> {
  const roots = new Map<string, PromotionMask>()
  const node = (): PromotionMask => ({ leaf: [], keys: new Map(), indexes: new Map() })
  for (const p of promoted) {
    const [root, ...rest] = p.path
    let cur = roots.get(root!) ?? node()
    roots.set(root!, cur)
    let parents = [cur]
    for (const step of rest) {
      // getPath reads a step as an object key, and as an array index when it is all digits.
      const next: PromotionMask[] = []
      for (const at of parents) {
        const child = at.keys.get(step) ?? node()
        at.keys.set(step, child)
        next.push(child)
        if (/^\d+$/.test(step)) {
          const i = Number(step)
          const item = at.indexes.get(i) ?? node()
          at.indexes.set(i, item)
          next.push(item)
        }
      }
      parents = next
    }
    for (const at of parents) if (!at.leaf.includes(p.type)) at.leaf.push(p.type)
  }
  return roots
}

/** Whether a mask leaf takes `v` out of its VARIANT: promotedValue would return it for one of its types. */
export function isPromotedValue(leaf: readonly ('string' | 'int' | 'double')[], v: unknown): boolean {
  for (const type of leaf) if (typedValue(v, type) !== null) return true
  return false
}

/**
 * Rows → the column arrays the Parquet writer takes, appended one row at a time with no record per
 * row: epoch milliseconds for timestamps (the writer's TIMESTAMP_MILLIS takes numbers), BigInt for
 * INT64, the promoted columns filled. The VARIANT columns keep the rows' own values: `masks` says
 * which places inside them the encoder writes as null (layout 2), so nothing is copied. An empty
 * array or a null variant is a missing value (a Parquet null): the writer encodes nothing for it,
 * and it reads back as [] or null as before. The rows are not changed.
 */
export class ColumnBuilder {
  readonly specs: ColumnSpec[]
  /** One array per column of `specs`, in order: the fields, then the promoted columns. */
  data: unknown[][]
  /** Per column of `specs`: the promotions inside it, for its VARIANT encoding (PromotionMask). */
  readonly masks: (PromotionMask | undefined)[]
  private readonly fields: readonly FieldSpec[]
  private readonly promoted: readonly PromotedColumn[]
  /** The promoted paths' steps, shared prefixes once (event, event.request, …): see PathSteps. */
  private readonly steps: PathSteps

  constructor(schema: CollectionSchema) {
    this.specs = parquetColumns(schema)
    this.fields = schema.fields
    this.promoted = schema.promoted
    this.steps = new PathSteps(schema.promoted.map(p => p.path))
    this.data = this.specs.map(() => [])
    const masks = promotionMasks(schema.promoted)
    this.masks = this.specs.map((c, i) => (i < schema.fields.length ? masks.get(c.name) : undefined))
  }

  get length(): number {
    return this.data[0]!.length
  }

  /** Appends a row; returns the bytes its promoted values add (a string's length, 8 for a number). */
  add(row: StoredRow): number {
    const fields = this.fields
    const data = this.data
    let promotedBytes = 0
    const n = fields.length
    const found = this.steps.follow(row)
    for (let i = 0; i < this.promoted.length; i++) {
      const p = this.promoted[i]!
      const v = typedValue(found[i], p.type)
      data[n + i]!.push(p.type === 'int' && v !== null ? BigInt(v) : v)
      if (v !== null) promotedBytes += typeof v === 'string' ? v.length : 8
    }
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      let v = row[f.name]
      if (v === null || v === undefined) v = f.array || f.type === 'variant' ? undefined : null
      else if (f.array) v = (v as unknown[]).length ? v : undefined
      else if (f.type === 'int') v = BigInt(v as number) // INT64 columns take BigInt
      data[i]!.push(v)
    }
    return promotedBytes
  }

  /** The columns built so far, for the writer; the builder starts empty again. */
  take(): ColumnSource[] {
    const out = this.specs.map((c, i) => ({ ...c, data: this.data[i]! }))
    this.data = this.specs.map(() => [])
    return out
  }
}

/**
 * Follows several paths through a row at once, as getPath follows one (own properties; a step of
 * digits indexes an array), each shared prefix once: TailEvents' seven promotions take 13 steps
 * per row instead of 23, with no regular expression per array step.
 */
class PathSteps {
  /** Steps in order, each from an earlier step's value (or the row: -1). */
  private readonly from: number[] = []
  private readonly key: string[] = []
  /** The array index a step reads, or -1 when it is not all digits (an array then gives undefined). */
  private readonly index: number[] = []
  /** The step each path ends at. */
  private readonly ends: number[] = []
  private readonly values: unknown[] = []
  private readonly found: unknown[]

  constructor(paths: readonly (readonly string[])[]) {
    const byPrefix = new Map<string, number>()
    for (const path of paths) {
      let at = -1
      for (let i = 0; i < path.length; i++) {
        const prefix = JSON.stringify(path.slice(0, i + 1))
        let step = byPrefix.get(prefix)
        if (step === undefined) {
          step = this.from.length
          byPrefix.set(prefix, step)
          this.from.push(at)
          this.key.push(path[i]!)
          this.index.push(/^\d+$/.test(path[i]!) ? Number(path[i]) : -1)
        }
        at = step
      }
      this.ends.push(at)
    }
    this.found = paths.map(() => undefined)
  }

  /** The value at the end of each path in `row` (undefined where it breaks); the array is reused. */
  follow(row: StoredRow): readonly unknown[] {
    const values = this.values
    for (let i = 0; i < this.from.length; i++) {
      const from = this.from[i]!
      const cur: unknown = from < 0 ? row : values[from]
      let v: unknown
      if (cur === null || typeof cur !== 'object') v = undefined
      else if (Array.isArray(cur)) v = this.index[i]! < 0 ? undefined : cur[this.index[i]!]
      else v = Object.hasOwn(cur, this.key[i]!) ? (cur as Record<string, unknown>)[this.key[i]!] : undefined
      values[i] = v
    }
    for (let i = 0; i < this.ends.length; i++) this.found[i] = values[this.ends[i]!]
    return this.found
  }
}

/**
 * StoredRow → the record a file stores, one row at a time (see ColumnBuilder): the VARIANT values
 * with their promoted places null, as the encoder writes them. For tools and tests; the compactor
 * never copies a row.
 */
export function toParquetRecord(schema: CollectionSchema, row: StoredRow): Record<string, unknown> {
  const b = new ColumnBuilder(schema)
  b.add(row)
  return Object.fromEntries(b.specs.map((c, i) => [c.name, masked(b.data[i]![0], b.masks[i])]))
}

/** `v` with its promoted places (PromotionMask) null: the containers on a path copied, the rest shared. */
export function masked(v: unknown, mask: PromotionMask | undefined): unknown {
  if (!mask || v === null || typeof v !== 'object') return v
  const isArray = Array.isArray(v)
  const out = (isArray ? [...v] : { ...v }) as Record<string, unknown>
  for (const k of Object.keys(out)) {
    const child = isArray ? mask.indexes.get(Number(k)) : mask.keys.get(k)
    if (!child) continue
    out[k] = isPromotedValue(child.leaf, out[k]) ? null : masked(out[k], child)
  }
  return out
}

/**
 * A record read back from Parquet → StoredRow (ms timestamps, plain numbers, the file's `promoted`
 * columns (promotedOf) put back in their place inside the VARIANT, then dropped). With `columns`,
 * only those fields are filled: a partial row. The record's values are the reader's own fresh
 * objects, so they are converted in place.
 */
export function fromParquetRecord(
  schema: CollectionSchema, rec: Record<string, unknown>, columns?: readonly string[],
  promoted: readonly FilePromotion[] = [],
): StoredRow {
  const row: StoredRow = {}
  for (const f of schema.fields) {
    if (columns && !columns.includes(f.name)) continue
    const v = rec[f.name]
    if (f.array) row[f.name] = Array.isArray(v) ? plainInPlace(v) : []
    else if (v === undefined || v === null) row[f.name] = null
    else if (f.type === 'timestamp') row[f.name] = v instanceof Date ? v.getTime() : Number(v)
    else row[f.name] = plainInPlace(v)
  }
  for (const p of promoted) {
    const v = rec[p.name]
    if (v === null || v === undefined || !(p.path[0]! in row)) continue
    restore(row, p.path, typeof v === 'bigint' ? Number(v) : v)
  }
  return row
}

/** The columns of a file's `promoted` (promotedOf) a read of `fields` needs, to put their values back. */
export function promotedColumnsFor(promoted: readonly FilePromotion[], fields: readonly string[]): string[] {
  return promoted.filter(p => fields.includes(p.path[0]!)).map(p => p.name)
}

/** Puts a promoted value back at its path; the writer left null there, so every container exists. */
function restore(row: StoredRow, path: readonly string[], value: unknown): void {
  let cur = row as Record<string, unknown>
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]!]
    if (next === null || typeof next !== 'object') return
    cur = next as Record<string, unknown>
  }
  cur[path.at(-1)!] = value
}

/**
 * Parquet readers give BigInt for INT64 (and Dates for timestamps inside a VARIANT); the engine's
 * plain data uses numbers and ISO strings. Converts in place, allocating only for what changes.
 */
function plainInPlace(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i] as unknown
      if (x !== null && (typeof x === 'object' || typeof x === 'bigint')) v[i] = plainInPlace(x)
    }
    return v
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>
    for (const k in o) {
      const x = o[k]
      if (x !== null && (typeof x === 'object' || typeof x === 'bigint')) o[k] = plainInPlace(x)
    }
  }
  return v
}
