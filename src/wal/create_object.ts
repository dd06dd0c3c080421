import { BACKOFF_MS, type Bucket, withRetries } from '../storage/index.js'
import { WalWriteError } from './write_error.js'

/**
 * A create-if-absent PUT that survives transient storage errors: a tail batch (or its
 * quarantined events) has no other copy, so one failed request must not lose it. Keys are
 * deterministic — derived from the batch's idempotency key, or from the segment a quarantine
 * copy comes from — so an object already under the key is this write's own earlier attempt
 * (whose response was lost) or an earlier call with the same key: either way the write is done,
 * and it is never stored twice (invariants durable-on-ack, exactly-once).
 */
export async function createObject(bucket: Bucket, key: string, body: string): Promise<void> {
  try {
    await withRetries(() => bucket.put(key, body, { onlyIf: { etagDoesNotMatch: '*' } }))
  } catch (failed) {
    const why = (failed as Error)?.message ?? String(failed)
    throw new WalWriteError(`could not write ${key} after ${BACKOFF_MS.length + 1} attempts: ${why}`, { cause: failed })
  }
}
