import {
  type Bucket,
  type BucketListOptions,
  type BucketListResult,
  type BucketObject,
  type BucketObjectBody,
  type BucketPutOptions,
  type BucketRange,
  checkKey,
  resolveRange,
  toBytes,
} from './bucket.js'

/** What a backing store keeps per object: the bytes and the object's head. */
export interface StoredObject {
  head: BucketObject
  bytes: Uint8Array
}

/**
 * The R2 semantics (conditional put, ranged get, delimited list) over any
 * key → bytes store, so the memory and fs adapters share one implementation
 * and cannot drift apart. Backends serialize nothing themselves: puts for a
 * key run in order through `withKeyLock`, which is what makes CAS atomic here.
 */
export abstract class ObjectStore implements Bucket {
  private locks = new Map<string, Promise<unknown>>()

  protected abstract readObject(key: string): Promise<StoredObject | null>
  protected abstract writeObject(key: string, object: StoredObject): Promise<void>
  protected abstract removeObject(key: string): Promise<void>
  /** All keys with the prefix, in any order. */
  protected abstract keys(prefix: string): Promise<string[]>
  protected abstract readHead(key: string): Promise<BucketObject | null>

  /**
   * The bytes [start, end) of an object (a range from its size), with its head. Backends that can
   * read part of an object override this, so a ranged GET does not read the whole of it.
   */
  protected async readRange(key: string, range: BucketRange | undefined): Promise<StoredObject | null> {
    const stored = await this.readObject(key)
    if (!stored) return null
    const [start, end] = resolveRange(range, stored.bytes.byteLength)
    return { head: stored.head, bytes: stored.bytes.slice(start, end) }
  }

  async get(key: string, options?: { range?: BucketRange }): Promise<BucketObjectBody | null> {
    const stored = await this.readRange(key, options?.range)
    if (!stored) return null
    // readRange returns bytes that own their buffer (a copy or a fresh read), never a view into more.
    const slice = stored.bytes
    return {
      ...stored.head,
      arrayBuffer: async () => slice.buffer as ArrayBuffer,
      text: async () => new TextDecoder().decode(slice),
    }
  }

  head(key: string): Promise<BucketObject | null> {
    return this.readHead(key)
  }

  put(
    key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions,
  ): Promise<BucketObject | null> {
    checkKey(key)
    const bytes = toBytes(value)
    return this.withKeyLock(key, async () => {
      const cond = options?.onlyIf
      if (cond) {
        const current = await this.readHead(key)
        if (cond.etagDoesNotMatch !== undefined) {
          if (current && (cond.etagDoesNotMatch === '*' || cond.etagDoesNotMatch === current.etag)) return null
        }
        if (cond.etagMatches !== undefined) {
          if (!current || (cond.etagMatches !== '*' && cond.etagMatches !== current.etag)) return null
        }
      }
      const head: BucketObject = {
        key,
        size: bytes.byteLength,
        etag: await etagOf(bytes),
        uploaded: new Date(),
        ...(options?.customMetadata ? { customMetadata: { ...options.customMetadata } } : {}),
      }
      await this.writeObject(key, { head, bytes })
      return head
    })
  }

  async list(options: BucketListOptions = {}): Promise<BucketListResult> {
    const prefix = options.prefix ?? ''
    const limit = Math.min(options.limit ?? 1000, 1000)
    const after = options.cursor ?? options.startAfter ?? ''
    const all = (await this.keys(prefix)).filter(k => k > after).sort()
    const objects: BucketObject[] = []
    const prefixes = new Set<string>()
    let last = ''
    let truncated = false
    for (const key of all) {
      if (options.delimiter) {
        const at = key.indexOf(options.delimiter, prefix.length)
        if (at >= 0) {
          const p = key.slice(0, at + options.delimiter.length)
          if (!prefixes.has(p)) {
            if (objects.length + prefixes.size >= limit) { truncated = true; break }
            prefixes.add(p)
          }
          last = key
          continue
        }
      }
      if (objects.length + prefixes.size >= limit) { truncated = true; break }
      const head = await this.readHead(key)
      if (head) objects.push(head)
      last = key
    }
    return { objects, delimitedPrefixes: [...prefixes], truncated, ...(truncated ? { cursor: last } : {}) }
  }

  async delete(keys: string | string[]): Promise<void> {
    for (const key of Array.isArray(keys) ? keys : [keys]) {
      await this.withKeyLock(key, () => this.removeObject(key))
    }
  }

  private withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const settled = next.catch(() => undefined)
    this.locks.set(key, settled)
    void settled.then(() => { if (this.locks.get(key) === settled) this.locks.delete(key) })
    return next
  }
}

/** A content hash, like R2's MD5 etag: identical bytes get identical etags, as they do in R2. */
async function etagOf(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(bytes))
  return [...new Uint8Array(digest).slice(0, 16)].map(b => b.toString(16).padStart(2, '0')).join('')
}
