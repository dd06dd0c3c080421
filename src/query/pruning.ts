import { type Bounds, type Filter, extractBounds, mayMatch, timeRange } from '../expr/index.js'
import type { DataFile } from '../manifest/index.js'
import { type CollectionSchema, promotionDigest, statColumns } from '../schema/index.js'
import type { ChunkStats } from './parquet_reader.js'
import type { TimeRange } from './scan.js'

/**
 * What a filter lets a read skip: the time range (partitions and WAL segments), and
 * bounds on columns with statistics (whole files by the manifest, row groups by their
 * Parquet statistics). A path into a variant uses its promoted column when there is one.
 */
export interface Pruner {
  range: TimeRange
  keepFile(file: DataFile): boolean
  /** The row-group test for one file (its promoted columns are trusted only without misfits). */
  rowGroupFilter(file: DataFile): (stats: (column: string) => ChunkStats) => boolean
  /** Columns whose bounds the pruner uses. */
  columns: { column: string; bounds: Bounds }[]
}

export function buildPruner(schema: CollectionSchema, filter: Filter | undefined, extra: TimeRange = {}): Pruner {
  const bounds = extractBounds(filter)
  const fromFilter = timeRange(bounds.get(schema.timeField))
  const range: TimeRange = {}
  const from = [fromFilter.from, extra.from].filter((x): x is number => x !== undefined)
  const to = [fromFilter.to, extra.to].filter((x): x is number => x !== undefined)
  if (from.length) range.from = Math.max(...from)
  if (to.length) range.to = Math.min(...to)

  const stat = new Set(statColumns(schema).map(c => c.name))
  const columns: { column: string; bounds: Bounds }[] = []
  for (const [path, b] of bounds) {
    if (stat.has(path) && !schema.promoted.some(p => p.name === path)) columns.push({ column: path, bounds: b })
    const promoted = schema.promoted.find(p => p.path.join('.') === path)
    if (promoted) columns.push({ column: promoted.name, bounds: b })
  }
  const timeBounds: Bounds = {}
  if (range.from !== undefined) timeBounds.min = { value: range.from, inclusive: true }
  if (range.to !== undefined) timeBounds.max = { value: range.to, inclusive: false }

  const promoted = new Set(schema.promoted.map(p => p.name))
  const digest = promotionDigest(schema.promoted)
  /**
   * A promoted column's statistics cover every row of a file only when nothing misfit it, and
   * describe the column as the schema promotes it now only when the file was written with the same
   * promotions (a re-pointed or retyped column's old statistics would skip files holding matches).
   */
  const trusted = (file: DataFile, column: string) =>
    !promoted.has(column) || (file.stats[column]?.misfits === 0 && file.promoted === digest)
  // In a row group the promotion is checked by the file's own record (parquet_reader.ts, column_scan.ts),
  // which files written before the digest have too.
  const trustedInGroups = (file: DataFile, column: string) => !promoted.has(column) || file.stats[column]?.misfits === 0

  return {
    range,
    columns,
    keepFile(file) {
      if (range.from !== undefined && file.maxTime < range.from) return false
      if (range.to !== undefined && file.minTime >= range.to) return false
      return columns.every(({ column, bounds: b }) => {
        const s = file.stats[column]
        return !s || !trusted(file, column) || mayMatch(b, s.min, s.max)
      })
    },
    rowGroupFilter(file) {
      const usable = columns.filter(c => trustedInGroups(file, c.column))
      return stats => {
        if (timeBounds.min || timeBounds.max) {
          const t = stats(schema.timeField)
          if (t.min !== undefined && !mayMatch(timeBounds, t.min, t.max)) return false
        }
        return usable.every(({ column, bounds: b }) => {
          const s = stats(column)
          return s.min === undefined || mayMatch(b, s.min, s.max)
        })
      }
    },
  }
}
