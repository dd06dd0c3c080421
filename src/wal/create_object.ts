import type { Bucket } from '../storage/index.js'
import { WalWriteError } from './write_error.js'

/** Waits between attempts at a failed PUT; R2's transient errors (500, 503, 429) clear within this. */
const BACKOFF_MS = [50, 250, 1000]

/**
 * A create-if-absent PUT that survives transient storage errors: a tail batch (or its
 * quarantined events) has no other copy, so one failed request must not lose it. The retry reuses the key, so when the first
 * attempt did store the segment and only its response was lost, the retry finds the object
 * (our random key: nobody else writes it) and no second copy is made. Returns false when the
 * key was taken by someone else (a collision), true when stored.
 */
export async function createObject(bucket: Bucket, key: string, body: string, size: number): Promise<boolean> {
  let failed: unknown
  for (let attempt = 0; attempt <= BACKOFF_MS.length; attempt++) {
    if (attempt > 0) await new Promise(resolve => setTimeout(resolve, BACKOFF_MS[attempt - 1]))
    try {
      if (await bucket.put(key, body, { onlyIf: { etagDoesNotMatch: '*' } })) return true
      if (failed === undefined) return false
      // An earlier attempt may have stored it: ours if the size matches, else a collision.
      const head = await bucket.head(key)
      return head !== null && head.size === size
    } catch (e) {
      failed = e
    }
  }
  throw new WalWriteError(`could not write ${key} after ${BACKOFF_MS.length + 1} attempts: ${(failed as Error)?.message ?? String(failed)}`, { cause: failed })
}
