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
}

export interface ReadAhead {
  /** Sources open at once, the current one included. */
  concurrency: number
  /** Combined weight of the sources open at once; the current one always opens. */
  maxWeight: number
}

interface Open<T> {
  it: AsyncIterator<T>
  next: Promise<IteratorResult<T>>
  weight: number
}

export async function* inOrder<T>(sources: readonly Source<T>[], limits: ReadAhead): AsyncGenerator<T> {
  const open: Open<T>[] = []
  let started = 0
  let weight = 0
  const pull = (it: AsyncIterator<T>) => {
    const next = it.next()
    next.catch(() => {}) // surfaced when its turn comes; never an unhandled rejection meanwhile
    return next
  }
  const fill = () => {
    while (started < sources.length && open.length < limits.concurrency) {
      const s = sources[started]!
      if (open.length > 0 && weight + s.weight > limits.maxWeight) break
      const it = s.open()
      open.push({ it, next: pull(it), weight: s.weight })
      weight += s.weight
      started++
    }
  }
  try {
    fill()
    while (open.length) {
      const cur = open[0]!
      const r = await cur.next
      if (r.done) {
        open.shift()
        weight -= cur.weight
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
