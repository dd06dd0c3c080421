import { type FileMetaData, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import type { DataFile } from '../manifest/index.js'
import { type CollectionSchema, type StoredRow, fromParquetRecord } from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import { openParquet } from './r2_buffer.js'

/**
 * Streams a data file's rows one row group at a time, so memory holds one group,
 * never the whole file. Rows come out in file order (sorted by time).
 */
export async function* readFileRowGroups(bucket: Bucket, schema: CollectionSchema, file: Pick<DataFile, 'key' | 'bytes'>): AsyncGenerator<StoredRow[]> {
  const buffer = await openParquet(bucket, file.key, file.bytes)
  const metadata = await parquetMetadataAsync(buffer)
  const compressors = await compressorsFor(metadata)
  const columns = schema.fields.map(f => f.name)
  let start = 0
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows)
    const records = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end, columns, ...(compressors ? { compressors } : {}) })
    yield records.map(r => fromParquetRecord(schema, r))
    start = end
  }
}

const BUILT_IN = new Set(['UNCOMPRESSED', 'SNAPPY'])
const COMPRESSORS_MODULE = 'hyparquet-compressors'

/**
 * hyparquet decodes SNAPPY (what the engine writes) by itself. Other codecs need
 * hyparquet-compressors, loaded only then: it compiles wasm on import, which workerd
 * forbids, so a Worker never loads it for the engine's own files.
 */
async function compressorsFor(metadata: FileMetaData): Promise<Record<string, unknown> | undefined> {
  const codecs = new Set(metadata.row_groups.flatMap(g => g.columns.map(c => c.meta_data?.codec ?? 'UNCOMPRESSED')))
  if ([...codecs].every(c => BUILT_IN.has(c))) return undefined
  const mod = (await import(/* @vite-ignore */ COMPRESSORS_MODULE)) as { compressors: Record<string, unknown> }
  return mod.compressors
}
