/** Waits between attempts at a request that failed transiently: R2's 500, 503 and 429, a restarting Durable Object. */
export const BACKOFF_MS: readonly number[] = [50, 250, 1000]

/**
 * Runs `attempt` until it resolves, waiting BACKOFF_MS between tries; rethrows the last failure,
 * or at once a failure `retryable` says will not clear (a 4xx answer, say). For requests whose
 * repeat is harmless: a create-if-absent PUT, an append the other side deduplicates by key.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>, retryable: (e: unknown) => boolean = () => true,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt()
    } catch (e) {
      if (i >= BACKOFF_MS.length || !retryable(e)) throw e
    }
    await new Promise(resolve => setTimeout(resolve, BACKOFF_MS[i]))
  }
}
