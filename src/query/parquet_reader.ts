import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
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
  const columns = schema.fields.map(f => f.name)
  let start = 0
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows)
    const records = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end, columns, compressors })
    yield records.map(r => fromParquetRecord(schema, r))
    start = end
  }
}
