/**
 * Read-ahead for scans: R2 answers in tens of milliseconds, so while one source (a Parquet file,
 * a WAL segment) is consumed, the next ones are already being fetched. Order is kept — every item
 * of source i before any of source i + 1 — and memory is bounded: each source ahead holds at most
 * one item, and sources start only while their combined weight (bytes) fits the budget.
 */
export interface Source<T> {
  open(): AsyncIterator<T>
  /** What holding this source's items costs (its size in bytes), for the read-ahead budget. */
  weight: number
  /** True once nothing in this source can matter (a sorted find with enough rows): not read. */
  skip?: () => boolean
}

export interface ReadAhead {
  /** Sources open at once, the current one included. */
  concurrency: number
  /** Combined weight of the sources open at once; the current one always opens. */
  maxWeight: number
  /**
   * Start with 2 sources open and double with each one finished, up to `concurrency` (TCP's slow
   * start): for a read that may stop early, so few requests are spent on sources it never needs.
   */
  rampUp?: boolean
}

interface Open<T> {
  it: AsyncIterator<T>
  next: Promise<IteratorResult<T>>
  weight: number
  skip: (() => boolean) | undefined
}

export async function* inOrder<T>(sources: readonly Source<T>[], limits: ReadAhead): AsyncGenerator<T> {
  const open: Open<T>[] = []
  let started = 0
  let weight = 0
  let window = limits.rampUp ? Math.min(2, limits.concurrency) : limits.concurrency
  const pull = (it: AsyncIterator<T>) => {
    const next = it.next()
    next.catch(() => {}) // surfaced when its turn comes; never an unhandled rejection meanwhile
    return next
  }
  const fill = () => {
    while (started < sources.length && open.length < window) {
      const s = sources[started]!
      if (s.skip?.()) { started++; continue }
      if (open.length > 0 && weight + s.weight > limits.maxWeight) break
      const it = s.open()
      open.push({ it, next: pull(it), weight: s.weight, skip: s.skip })
      weight += s.weight
      started++
    }
  }
  try {
    fill()
    while (open.length) {
      const cur = open[0]!
      // Opened ahead before it could be ruled out: drop it unread.
      const r = cur.skip?.() ? { done: true as const, value: undefined } : await cur.next
      if (r.done) {
        if (cur.skip?.()) void cur.it.return?.().catch(() => undefined)
        open.shift()
        weight -= cur.weight
        window = Math.min(window * 2, limits.concurrency)
        fill()
        continue
      }
      cur.next = pull(cur.it) // fetch the next item while the consumer works on this one
      yield r.value
    }
  } finally {
    await Promise.all(open.map(o => o.it.return?.().catch(() => undefined)))
  }
}
