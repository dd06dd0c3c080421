import type { Bucket, BucketListOptions, BucketPutOptions, BucketRange } from './bucket.js'
import { utf8Length } from './utf8.js'

/** R2 operations made, by the kind R2 bills (PUT/LIST are Class A, GET/HEAD Class B, DELETE free). */
export interface OpCounts {
  get: number
  head: number
  put: number
  list: number
  delete: number
  bytesRead: number
  bytesWritten: number
}

export function emptyOpCounts(): OpCounts {
  return { get: 0, head: 0, put: 0, list: 0, delete: 0, bytesRead: 0, bytesWritten: 0 }
}

/**
 * Wraps a bucket and counts what goes through it, so a compaction pass or a query
 * can report its own cost. Each pass or query gets its own wrapper.
 */
export class CountingBucket implements Bucket {
  readonly ops: OpCounts = emptyOpCounts()
  constructor(readonly inner: Bucket) {}

  async get(key: string, options?: { range?: BucketRange }) {
    this.ops.get++
    const body = await this.inner.get(key, options)
    if (!body) return null
    return {
      ...pickHead(body),
      arrayBuffer: async () => {
        const buf = await body.arrayBuffer()
        this.ops.bytesRead += buf.byteLength
        return buf
      },
      text: async () => {
        const buf = await body.arrayBuffer()
        this.ops.bytesRead += buf.byteLength
        return new TextDecoder().decode(buf)
      },
    }
  }
  head(key: string) {
    this.ops.head++
    return this.inner.head(key)
  }
  put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) {
    this.ops.put++
    this.ops.bytesWritten += typeof value === 'string' ? utf8Length(value) : value.byteLength
    return this.inner.put(key, value, options)
  }
  list(options?: BucketListOptions) {
    this.ops.list++
    return this.inner.list(options)
  }
  delete(keys: string | string[]) {
    this.ops.delete += Array.isArray(keys) ? keys.length : 1
    return this.inner.delete(keys)
  }
}

function pickHead<
  T extends { key: string; size: number; etag: string; uploaded: Date; customMetadata?: Record<string, string> },
>(o: T) {
  return {
    key: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded,
    ...(o.customMetadata ? { customMetadata: o.customMetadata } : {}),
  }
}
