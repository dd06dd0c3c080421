/** A WAL or quarantine segment could not be stored; the batch was not acknowledged. */
export class WalWriteError extends Error {
  override name = 'WalWriteError'
}
