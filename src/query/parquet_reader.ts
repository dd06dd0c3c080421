import {
  type ColumnChunk, type FileMetaData, type RowGroup, parquetMetadataAsync, parquetReadObjects, parquetSchema,
} from 'hyparquet'
import type { DataFile } from '../manifest/index.js'
import {
  type CollectionSchema, type StoredRow, fromParquetRecord, layoutOf, promotedColumnsFor, promotedOf, samePromotion,
} from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import { openParquet } from './r2_buffer.js'

/** Min/max of one column chunk as plain values (Dates as ms, BigInt as numbers); undefined when unknown. */
export interface ChunkStats {
  min: unknown
  max: unknown
}

export interface ReadFileOptions {
  /** Top-level fields to read; all schema fields when absent. */
  columns?: readonly string[]
  /** Return false to skip a row group by its column statistics (asked just before the group is read). */
  keepRowGroup?: (stats: (column: string) => ChunkStats) => boolean
  /**
   * Last row group first: a find sorted newest first reads a file's newest rows first, so its bound
   * (the worst row it keeps) skips the older groups.
   */
  reverse?: boolean
  /** Counts row groups seen and read. */
  counters?: { rowGroupsConsidered: number; rowGroupsRead: number }
  /**
   * Turns each row group's rows as stored into what the engine works on, given the file's
   * key/value metadata: an aggregating view's states are checked against their format version.
   */
  decode?: RowDecoder
}

export type RowDecoder = (
  rows: StoredRow[], kv: readonly { key: string; value?: string }[] | undefined, key: string,
) => StoredRow[]

/**
 * Streams a data file's rows one row group at a time, so memory holds one group, never
 * the whole file. Row groups whose statistics rule them out are not read at all, and only
 * the asked-for columns are decoded (large files are read by range, column chunk by chunk).
 */
export async function* readFileRowGroups(
  bucket: Bucket,
  schema: CollectionSchema,
  fileRef: Pick<DataFile, 'key' | 'bytes'>,
  options: ReadFileOptions = {},
): AsyncGenerator<StoredRow[]> {
  const buffer = await openParquet(bucket, fileRef.key, fileRef.bytes)
  // Our footers are a few KB per row group; hyparquet re-fetches if one is larger.
  const metadata = await parquetMetadataAsync(buffer, { initialFetchSize: FOOTER_GUESS })
  const compressors = await compressorsFor(metadata)
  // A file written before a field or aggregate was added lacks that column: read what it has;
  // the missing fields come back null (or [] for arrays), as for a row that never set them.
  const present = new Set(parquetSchema(metadata).children.map(c => c.element.name))
  const columns = (options.columns ? [...options.columns] : schema.fields.map(f => f.name)).filter(c => present.has(c))
  // Layout 2 keeps a promoted value only in its column: read it too, to put it back in its variant,
  // by the file's own record of what it promoted (the schema's may have changed since).
  const kv = metadata.key_value_metadata
  const filePromoted = promotedOf(kv, schema, layoutOf(kv, fileRef.key), fileRef.key)
  const promoted = promotedColumnsFor(filePromoted, columns).filter(c => present.has(c) && !columns.includes(c))
  // A column the schema promotes otherwise than this file did (re-pointed, retyped, added since) has
  // statistics that say nothing about its values now: no row group is skipped by them. Layout 1
  // recorded nothing; its columns are taken as the schema's.
  const unknown: ChunkStats = { min: undefined, max: undefined }
  const stale = new Set(layoutOf(kv, fileRef.key) < 2 ? []
    : schema.promoted.filter(p => !samePromotion(p, filePromoted.find(f => f.name === p.name))).map(p => p.name))
  const groupStats = (group: RowGroup) => (name: string) =>
    (stale.has(name) ? unknown : chunkStats(group.columns, name))
  const read = promoted.length ? [...columns, ...promoted] : columns
  const groups: { group: RowGroup; start: number; end: number }[] = []
  for (const group of metadata.row_groups) {
    const start = groups.length ? groups[groups.length - 1]!.end : 0
    groups.push({ group, start, end: start + Number(group.num_rows) })
  }
  if (options.reverse) groups.reverse()
  for (const { group, start, end } of groups) {
    if (options.counters) options.counters.rowGroupsConsidered++
    if (options.keepRowGroup && !options.keepRowGroup(groupStats(group))) continue
    if (options.counters) options.counters.rowGroupsRead++
    // A ranged buffer caches every slice it fetched: a fresh one per group lets each group's
    // bytes go once it is decoded, instead of the whole file piling up over a merge or a scan.
    const file = buffer instanceof ArrayBuffer ? buffer : await openParquet(bucket, fileRef.key, fileRef.bytes)
    const range = { file, metadata, rowStart: start, rowEnd: end, columns: read }
    const records = await parquetReadObjects({ ...range, ...(compressors ? { compressors } : {}) })
    const rows = records.map(r => fromParquetRecord(schema, r, columns, filePromoted))
    yield options.decode ? options.decode(rows, metadata.key_value_metadata, fileRef.key) : rows
  }
}

export function chunkStats(chunks: ColumnChunk[], column: string): ChunkStats {
  const chunk = chunks.find(c => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column)
  const s = chunk?.meta_data?.statistics
  if (!s) return { min: undefined, max: undefined }
  // Truncated string bounds (is_*_exact false) are still bounds: hyparquet-writer cuts a min to a
  // prefix and rounds a max up in UTF-8 byte order, the order filters compare strings in
  // (test/node/stat_truncation.test.ts holds it to that).
  const plain = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v) : v)
  const rows = Number(chunk!.meta_data!.num_values)
  if (s.min_value === undefined && s.null_count !== undefined && Number(s.null_count) === rows) {
    return { min: null, max: null }
  }
  return { min: plain(s.min_value), max: plain(s.max_value) }
}

export const FOOTER_GUESS = 64 * 1024

const BUILT_IN = new Set(['UNCOMPRESSED', 'SNAPPY'])
const COMPRESSORS_MODULE = 'hyparquet-compressors'

/**
 * hyparquet decodes SNAPPY (what the engine writes) by itself. Other codecs need
 * hyparquet-compressors, loaded only then: it compiles wasm on import, which workerd
 * forbids, so a Worker never loads it for the engine's own files.
 */
export async function compressorsFor(metadata: FileMetaData): Promise<Record<string, unknown> | undefined> {
  const codecs = new Set(metadata.row_groups.flatMap(g => g.columns.map(c => c.meta_data?.codec ?? 'UNCOMPRESSED')))
  if ([...codecs].every(c => BUILT_IN.has(c))) return undefined
  const mod = (await import(/* @vite-ignore */ COMPRESSORS_MODULE)) as { compressors: Record<string, unknown> }
  return mod.compressors
}
