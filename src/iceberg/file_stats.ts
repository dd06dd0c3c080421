import type { ColumnStats, DataFile } from '../manifest/index.js'
import type { TableSchema } from './table_schema.js'

const UTF8 = new TextEncoder()

type IdMap<V> = { key: number; value: V }[]

/** A data file's Iceberg metrics, from the statistics the manifest already records (no file is opened). */
export interface FileMetrics {
  value_counts: IdMap<number>
  null_value_counts: IdMap<number>
  lower_bounds: IdMap<Uint8Array>
  upper_bounds: IdMap<Uint8Array>
}

/**
 * Value and null counts and bounds for the columns the engine keeps statistics of. Bounds are serialized
 * as the Iceberg spec's single values (Appendix D: little-endian numbers, UTF-8 strings, microsecond
 * timestamps). A bound is left out rather than risk a wrong one: strings with characters past U+D7FF
 * (UTF-16 and UTF-8 order them differently) and integers beyond 2^53. A promoted column's misfits are
 * stored null, so its counts and bounds describe the column as stored.
 */
export function fileMetrics(file: DataFile, table: TableSchema): FileMetrics {
  const out: FileMetrics = { value_counts: [], null_value_counts: [], lower_bounds: [], upper_bounds: [] }
  for (const [name, col] of table.columns) {
    const st: ColumnStats | undefined = file.stats[name]
    if (!st) continue
    out.value_counts.push({ key: col.id, value: file.rows })
    out.null_value_counts.push({ key: col.id, value: st.nulls })
    const lo = bound(col.type, st.min)
    const hi = bound(col.type, st.max)
    if (lo && hi) {
      out.lower_bounds.push({ key: col.id, value: lo })
      out.upper_bounds.push({ key: col.id, value: hi })
    }
  }
  return out
}

function bound(type: string, v: ColumnStats['min']): Uint8Array | null {
  if (v === null) return null
  if (type === 'string') {
    if (typeof v !== 'string' || /[\ud800-\uffff]/.test(v)) return null
    return UTF8.encode(v)
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return null
  const b = new Uint8Array(8)
  if (type === 'double') {
    new DataView(b.buffer).setFloat64(0, v, true)
    return b
  }
  if (type === 'long' || type === 'timestamptz') {
    const n = type === 'timestamptz' ? v * 1000 : v
    if (!Number.isSafeInteger(n)) return null
    new DataView(b.buffer).setBigInt64(0, BigInt(n), true)
    return b
  }
  return null
}

/** The Iceberg hour transform's value for a partition: hours since the Unix epoch. */
export function hourOf(ms: number): number {
  return Math.floor(ms / 3_600_000)
}

/** An int as Iceberg serializes it in bounds: 4 bytes little-endian. */
export function intBound(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, n, true)
  return b
}
