import type { ColumnSource } from 'hyparquet-writer'
import type { CollectionSchema } from './collection_schema.js'
import { promotedValue, type StoredRow } from './row_codec.js'

/** A Parquet column as the writer needs it, minus the data. */
export type ColumnSpec = Omit<ColumnSource, 'data'>

/** A column whose min/max the manifest records, so files can be pruned without opening them. */
export interface StatColumn {
  name: string
  kind: 'time' | 'string' | 'number'
}

/**
 * How a collection is laid out in Parquet: one typed column per scalar field, VARIANT
 * for variant and array fields, then the promoted hot paths as typed columns (duplicated
 * out of their variant so engines can filter and prune on them).
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
    cols.push({ name: f.name, type, nullable: !f.required })
  }
  for (const p of schema.promoted) {
    cols.push({
      name: p.name, type: p.type === 'string' ? 'STRING' : p.type === 'int' ? 'INT64' : 'DOUBLE', nullable: true,
    })
  }
  return cols
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

/** StoredRow → the record the Parquet writer takes (Dates for timestamps, promoted columns filled). */
export function toParquetRecord(schema: CollectionSchema, row: StoredRow): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of schema.fields) {
    const v = row[f.name]
    if (v === null || v === undefined) out[f.name] = f.array ? [] : null
    else if (f.array) out[f.name] = v
    else if (f.type === 'timestamp') out[f.name] = new Date(v as number)
    else if (f.type === 'int') out[f.name] = BigInt(v as number) // INT64 columns take BigInt
    else out[f.name] = v
  }
  for (const p of schema.promoted) {
    const v = promotedValue(row, p.path, p.type)
    out[p.name] = p.type === 'int' && v !== null ? BigInt(v) : v
  }
  return out
}

/**
 * A record read back from Parquet → StoredRow (ms timestamps, plain numbers, promoted
 * columns dropped). With `columns`, only those fields are filled: a partial row.
 */
export function fromParquetRecord(
  schema: CollectionSchema, rec: Record<string, unknown>, columns?: readonly string[],
): StoredRow {
  const row: StoredRow = {}
  for (const f of schema.fields) {
    if (columns && !columns.includes(f.name)) continue
    const v = rec[f.name]
    if (f.array) row[f.name] = Array.isArray(v) ? v.map(x => plain(x)) : []
    else if (v === undefined || v === null) row[f.name] = null
    else if (f.type === 'timestamp') row[f.name] = v instanceof Date ? v.getTime() : Number(v)
    else row[f.name] = plain(v)
  }
  return row
}

/** Parquet readers give BigInt for INT64; the engine's plain data uses numbers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return v.map(plain)
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plain(x)
    return out
  }
  return v
}
