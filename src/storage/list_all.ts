import type { Bucket, BucketObject } from './bucket.js'

/** Every object under a prefix, following list cursors page by page. */
export async function* listAll(bucket: Bucket, prefix: string): AsyncGenerator<BucketObject> {
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) })
    yield* page.objects
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
}
