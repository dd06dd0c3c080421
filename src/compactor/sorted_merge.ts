import type { StoredRow } from '../schema/index.js'
import { mapLimit } from '../storage/index.js'

/**
 * K-way merge of row streams that are each sorted by `timeField`, pulling one row
 * group at a time from each, so memory is k row groups however large the inputs.
 * Ties keep input order, which keeps the merge deterministic. The inputs are opened and their
 * first groups fetched together, `limit` at a time (each is a footer and a group's GETs); later
 * groups are fetched when their input runs out, so memory stays one group per input.
 */
export async function* mergeSorted(
  inputs: AsyncIterator<StoredRow[]>[], timeField: string, limit = 1,
): AsyncGenerator<StoredRow> {
  const heads: { rows: StoredRow[]; pos: number; src: AsyncIterator<StoredRow[]> }[] = []
  try {
    const firsts = await mapLimit(inputs, limit, nextNonEmpty)
    for (const [i, first] of firsts.entries()) if (first) heads.push({ rows: first, pos: 0, src: inputs[i]! })
  } catch (e) {
    // One input failed: release the others, which may hold an open file and a fetched group.
    await Promise.allSettled(inputs.map(i => i.return?.()))
    throw e
  }
  while (heads.length) {
    let best = 0
    for (let i = 1; i < heads.length; i++) {
      const a = heads[i]!.rows[heads[i]!.pos]![timeField] as number
      const b = heads[best]!.rows[heads[best]!.pos]![timeField] as number
      if (a < b) best = i
    }
    const h = heads[best]!
    yield h.rows[h.pos]!
    if (++h.pos === h.rows.length) {
      const more = await nextNonEmpty(h.src)
      if (more) { h.rows = more; h.pos = 0 } else heads.splice(best, 1)
    }
  }
}

async function nextNonEmpty(src: AsyncIterator<StoredRow[]>): Promise<StoredRow[] | null> {
  for (;;) {
    const r = await src.next()
    if (r.done) return null
    if (r.value.length) return r.value
  }
}

/** Yields at most `n` rows from a shared iterator, leaving the rest for the next taker. */
export async function* take(
  iter: AsyncIterator<StoredRow>, n: number, state: { done: boolean },
): AsyncGenerator<StoredRow> {
  for (let i = 0; i < n; i++) {
    const r = await iter.next()
    if (r.done) { state.done = true; return }
    yield r.value
  }
}
