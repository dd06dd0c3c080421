/**
 * Bounded concurrency for storage requests: R2 answers in tens of milliseconds, so a path that
 * touches many objects keeps several requests in flight, but never an unbounded number (memory,
 * and R2's per-Worker connection limit).
 */

/** How many storage requests one read or one compaction step keeps in flight by default. */
export const DEFAULT_CONCURRENCY = 16

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results in input order. The first
 * failure stops new calls from starting and is thrown once the calls in flight have settled.
 */
export function mapLimit<T, R>(
  items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  return mapWeighted(items, limit, Infinity, () => 0, fn)
}

/**
 * mapLimit with a second bound: the calls in flight also weigh at most `capacity` together (a call
 * heavier than that runs alone). Calls start in input order; results in input order. The first
 * failure stops new calls from starting and is thrown once the calls in flight have settled.
 */
export function mapWeighted<T, R>(
  items: readonly T[], limit: number, capacity: number, weight: (item: T) => number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  let running = 0
  let load = 0
  let failed = false
  let failure: unknown
  const most = limit >= 1 ? limit : 1 // NaN or less than one: one at a time, never none
  return new Promise((resolve, reject) => {
    const pump = () => {
      while (!failed && next < items.length && running < most) {
        const w = weight(items[next]!)
        if (running > 0 && load + w > capacity) break
        const i = next++
        running++
        load += w
        // A call that throws before returning its promise fails like one that rejects.
        Promise.resolve().then(() => fn(items[i]!, i))
          .then(r => { out[i] = r }, (e: unknown) => { if (!failed) { failed = true; failure = e } })
          .finally(() => {
            running--
            load -= w
            if (running === 0 && (failed || next >= items.length)) {
              if (failed) reject(failure)
              else resolve(out)
            } else pump()
          })
      }
    }
    if (items.length) pump()
    else resolve(out)
  })
}
