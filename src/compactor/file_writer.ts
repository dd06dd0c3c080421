import { ByteWriter, parquetWriteRows } from 'hyparquet-writer'
import { compareSame } from '../expr/index.js'
import type { ColumnStats, DataFile } from '../manifest/index.js'
import { type CollectionSchema, type StoredRow, getPath, parquetColumns, statColumns, toParquetRecord } from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import { randomId } from '../wal/index.js'

export interface FileTarget {
  prefix: string
  collection: string
  partition: string
  level: 0 | 1
  createdAt: number
  rowGroupRows: number
}

export function dataFileKey(t: Pick<FileTarget, 'prefix' | 'collection' | 'partition' | 'level' | 'createdAt'>): string {
  return `${t.prefix}data/${t.collection}/${t.partition}/${String(t.createdAt).padStart(15, '0')}-L${t.level}-${randomId()}.parquet`
}

/** The creation time a data file's name carries; the orphan sweep ages files by it. */
export function createdAtOfKey(key: string): number | null {
  const m = /\/(\d{15})-L\d-[a-z0-9]+\.parquet$/.exec(key)
  return m ? Number(m[1]) : null
}

/**
 * Writes rows (already sorted by time) to one Parquet file and uploads it, one row
 * group at a time from the source, gathering the per-file statistics the manifest
 * keeps. Returns null for an empty source.
 */
export async function writeDataFile(bucket: Bucket, schema: CollectionSchema, rows: AsyncIterable<StoredRow> | Iterable<StoredRow>, target: FileTarget): Promise<DataFile | null> {
  const stats = new StatsCollector(schema)
  async function* records() {
    for await (const row of rows) {
      const rec = toParquetRecord(schema, row)
      stats.add(rec)
      stats.addMisfits(row, rec)
      yield rec
    }
  }
  const writer = new ByteWriter()
  await parquetWriteRows({
    writer,
    rows: records(),
    columns: parquetColumns(schema),
    rowGroupSize: target.rowGroupRows,
    statisticsTruncateLength: 64,
    kvMetadata: [{ key: 'parquedb.collection', value: schema.name }, { key: 'parquedb.partition', value: target.partition }],
    createdBy: 'parquedb',
  })
  if (stats.rows === 0) return null
  const key = dataFileKey(target)
  const bytes = writer.getBytes()
  await bucket.put(key, bytes)
  return {
    key,
    partition: target.partition,
    level: target.level,
    rows: stats.rows,
    bytes: bytes.byteLength,
    minTime: stats.minTime,
    maxTime: stats.maxTime,
    createdAt: target.createdAt,
    stats: stats.result(),
  }
}

class StatsCollector {
  rows = 0
  minTime = Infinity
  maxTime = -Infinity
  private cols: { name: string; stats: ColumnStats }[]
  private misfits = new Map<string, number>()

  constructor(private readonly schema: CollectionSchema) {
    this.cols = statColumns(schema).map(c => ({ name: c.name, stats: { min: null, max: null, nulls: 0 } }))
  }

  /** Takes the Parquet record (timestamps as Dates, promoted columns filled). */
  add(rec: Record<string, unknown>): void {
    this.rows++
    const t = (rec[this.schema.timeField] as Date).getTime()
    if (t < this.minTime) this.minTime = t
    if (t > this.maxTime) this.maxTime = t
    for (const c of this.cols) {
      let v = rec[c.name]
      if (v instanceof Date) v = v.getTime()
      else if (typeof v === 'bigint') v = Number(v)
      if (v === null || v === undefined || (typeof v !== 'string' && typeof v !== 'number')) { c.stats.nulls++; continue }
      if (c.stats.min === null || (compareSame(v, c.stats.min) ?? 0) < 0) c.stats.min = v
      if (c.stats.max === null || (compareSame(v, c.stats.max) ?? 0) > 0) c.stats.max = v
    }
  }

  /** Counts nested values a promoted column could not hold (a string where an int is promoted...). */
  addMisfits(row: StoredRow, rec: Record<string, unknown>): void {
    for (const p of this.schema.promoted) {
      if (rec[p.name] !== null) continue
      const raw = getPath(row, p.path)
      if (raw !== null && raw !== undefined) this.misfits.set(p.name, (this.misfits.get(p.name) ?? 0) + 1)
    }
  }

  result(): Record<string, ColumnStats> {
    const promoted = new Set(this.schema.promoted.map(p => p.name))
    return Object.fromEntries(this.cols.map(c => [c.name, promoted.has(c.name) ? { ...c.stats, misfits: this.misfits.get(c.name) ?? 0 } : c.stats]))
  }
}
