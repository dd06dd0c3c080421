/**
 * A WAL or quarantine segment could not be stored, so the batch was not acknowledged. Some of
 * its segments may be stored (`stored`) or may have been stored with a lost response: retrying
 * with the same `idempotencyKey` stores the rest and never any part twice.
 */
export class WalWriteError extends Error {
  override name = 'WalWriteError'
  /** The key that makes a retry exactly-once: pass it as `bulkCreate(events, { idempotencyKey })`. */
  idempotencyKey?: string
  /** Segment keys confirmed stored before the failure. */
  stored: string[] = []
}
