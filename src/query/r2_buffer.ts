import { type AsyncBuffer, cachedAsyncBuffer } from 'hyparquet'
import type { Bucket } from '../storage/index.js'

/** Files up to this size are fetched whole: one GET beats a footer GET plus column GETs. */
const WHOLE_FILE_BYTES = 1 << 20

/**
 * An object the query's manifest lists is gone: deleted by GC under a query that outlived the grace period,
 * or lost.
 */
export class MissingObjectError extends Error {
  override name = 'MissingObjectError'
}

/**
 * A hyparquet AsyncBuffer over R2: small files in one GET, larger ones by ranged
 * GETs of just the footer and the column chunks a read needs.
 */
export async function openParquet(bucket: Bucket, key: string, byteLength: number): Promise<AsyncBuffer> {
  if (byteLength <= WHOLE_FILE_BYTES) {
    const body = await bucket.get(key)
    if (!body) {
      throw new MissingObjectError(`${key} is listed in the manifest but missing from the bucket; ` +
        'if the query ran longer than the garbage-collection grace period, retry it')
    }
    return await body.arrayBuffer()
  }
  return cachedAsyncBuffer({
    byteLength,
    async slice(start: number, end?: number) {
      const stop = end ?? byteLength
      const body = await bucket.get(key, { range: { offset: start, length: stop - start } })
      if (!body) {
        throw new MissingObjectError(`${key} is listed in the manifest but missing from the bucket; ` +
          'if the query ran longer than the garbage-collection grace period, retry it')
      }
      return body.arrayBuffer()
    },
  })
}
