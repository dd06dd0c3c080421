import type { Bucket, BucketListOptions, BucketPutOptions, BucketRange } from '../../src/storage/index.js'

export class InjectedFault extends Error {
  override name = 'InjectedFault'
}

/**
 * Fails the Nth storage operation (1-based) and every one after it, as if the
 * process died there: nothing after the fault reaches storage.
 */
export class FaultyBucket implements Bucket {
  count = 0
  failAt = Infinity
  constructor(readonly inner: Bucket) {}

  private tick(what: string): void {
    this.count++
    if (this.count >= this.failAt) throw new InjectedFault(`injected fault at operation ${this.count} (${what})`)
  }
  async get(key: string, options?: { range?: BucketRange }) { this.tick(`get ${key}`); return this.inner.get(key, options) }
  async head(key: string) { this.tick(`head ${key}`); return this.inner.head(key) }
  async put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) { this.tick(`put ${key}`); return this.inner.put(key, value, options) }
  async list(options?: BucketListOptions) { this.tick('list'); return this.inner.list(options) }
  async delete(keys: string | string[]) { this.tick('delete'); return this.inner.delete(keys) }
}
