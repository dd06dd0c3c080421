import { type Bucket, mapLimit } from '../storage/index.js'

/** R2's `delete()` takes at most this many keys per request. */
export const DELETE_BATCH = 1000

/**
 * Data files a step builds or uploads at once. A file is built whole in memory before its PUT
 * (up to MERGE_FILE_BYTES for an L1 file), so this stays small whatever `concurrency` says
 * (bounded-work); four overlap the uploads enough at R2's latencies.
 */
export const FILES_IN_MEMORY = 4

/**
 * Runs `fn` over `items` in order, at most `limit` ahead of the consumer, for a consumer that takes
 * the results one by one in order and may stop early (the ingest step's partition budget). Nothing
 * is started beyond `limit` items past the last one taken, and a result not taken changes nothing:
 * its failure is never seen. `settle()` waits for every call started, so a step returns (or throws)
 * with no request of its own still in flight.
 */
export class ReadAhead<T, R> {
  private readonly started: Promise<R>[] = []

  constructor(
    private readonly items: readonly T[],
    private readonly limit: number,
    private readonly fn: (item: T) => Promise<R>,
  ) {}

  /** The result for item `i` (taken in order, from 0), starting the calls up to `i + limit - 1`. */
  take(i: number): Promise<R> {
    const until = Math.min(this.items.length, i + Math.max(1, this.limit))
    while (this.started.length < until) {
      const item = this.items[this.started.length]!
      const p = Promise.resolve().then(() => this.fn(item))
      p.catch(() => {}) // seen by take() if the consumer gets that far; otherwise irrelevant
      this.started.push(p)
    }
    return this.started[i]!
  }

  /** Resolves once every call started has settled, whatever its outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.started)
  }
}

/**
 * Deletes keys in batches of DELETE_BATCH, `limit` batches in flight together. A failure is
 * thrown once the batches in flight have settled (so no delete of this call lands later).
 */
export async function deleteKeys(bucket: Bucket, keys: readonly string[], limit: number): Promise<void> {
  const batches: string[][] = []
  for (let i = 0; i < keys.length; i += DELETE_BATCH) batches.push(keys.slice(i, i + DELETE_BATCH))
  await mapLimit(batches, limit, batch => bucket.delete(batch))
}
