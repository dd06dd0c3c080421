import type { QueryBudget } from '../budget.js'
import { SqlDate } from '../sql_date.js'
import { type Accumulator, type Selection, makeAccumulator } from './accumulators.js'
import type { ColumnBatch } from './column_scan.js'
import type { Kind } from './expression.js'
import { GroupTable } from './group_table.js'
import type { ColumnarQuery, GroupContext } from './recognize.js'

/** What the aggregation saw: rows that passed the WHERE. */
export interface AggregateCounts {
  rowsMatched: number
}

/**
 * Runs a recognized query over column batches: WHERE into a selection of row positions, group
 * ids from the hash table, then each aggregate's tight loop over the selection. Only the
 * groups are kept (each counts against the budget's maxRows), never the rows; then HAVING,
 * ORDER BY (stable, as the row engine sorts) and LIMIT/OFFSET run on the grouped result.
 */
export async function aggregateBatches(
  query: ColumnarQuery, batches: AsyncIterable<ColumnBatch>, budget: QueryBudget | undefined, counts: AggregateCounts,
): Promise<Record<string, unknown>[]> {
  const accumulators: Accumulator[] = query.aggregates.map(makeAccumulator)
  const groups = new GroupTable(query.keys.map(k => k.ev), n => {
    budget?.hold()
    for (const a of accumulators) a.grow(n)
  })
  let rows = new Int32Array(0)
  let ids = new Int32Array(0)
  for await (const batch of batches) {
    budget?.check()
    const { length, columns } = batch
    if (rows.length < length) {
      rows = new Int32Array(length)
      ids = new Int32Array(length)
    }
    // Terms a row group's statistics prove for all its rows are not evaluated.
    const terms = query.conjuncts.filter((_, k) => !batch.plan?.proven[k]).map(c => c.ev)
    let m = 0
    for (let i = 0; i < length; i++) rows[i] = i
    m = length
    for (const term of terms) {
      let kept = 0
      for (let k = 0; k < m; k++) {
        const i = rows[k]!
        if (term(columns, i)) rows[kept++] = i
      }
      m = kept
    }
    counts.rowsMatched += m
    const sel: Selection = { rows, groups: ids, length: m }
    groups.assign(columns, sel)
    for (const a of accumulators) a.update(columns, sel)
  }
  return finish(query, groups, accumulators)
}

function finish(query: ColumnarQuery, groups: GroupTable, accumulators: Accumulator[]): Record<string, unknown>[] {
  const ctx: GroupContext = { keys: groups.keys, aggregate: (i, g) => accumulators[i]!.result(g) }
  let kept: number[] = []
  for (let g = 0; g < groups.size; g++) if (!query.having || query.having.ev(ctx, g)) kept.push(g)
  if (query.orderBy.length) {
    const keys = query.orderBy.map(t => kept.map(g => t.ev.ev(ctx, g)))
    const order = kept.map((_, i) => i)
    order.sort((a, b) => {
      for (let t = 0; t < query.orderBy.length; t++) {
        const c = compareTerm(keys[t]![a], keys[t]![b], query.orderBy[t]!)
        if (c !== 0) return c
      }
      return 0
    })
    kept = order.map(i => kept[i]!)
  }
  const start = query.offset ?? 0
  kept = kept.slice(start, query.limit === undefined ? undefined : start + query.limit)
  return kept.map(g => {
    const out: Record<string, unknown> = {}
    for (const o of query.outputs) out[o.name] = publicValue(o.value.ev(ctx, g), o.value.kind)
    return out
  })
}

/** The row engine's ORDER BY comparison: NULLs first unless NULLS LAST (either direction), loose equality. */
function compareTerm(a: unknown, b: unknown, term: { desc: boolean; nullsFirst: boolean }): number {
  const an = a == null
  const bn = b == null
  if (an || bn) {
    if (an && bn) return 0
    if (an) return term.nullsFirst ? -1 : 1
    return term.nullsFirst ? 1 : -1
  }
  // eslint-disable-next-line eqeqeq
  if (a == b) return 0
  const c = (a as number) < (b as number) ? -1 : 1
  return term.desc ? -c : c
}

/** Timestamps leave the columnar path as Dates, as the row path returns them. */
function publicValue(v: unknown, kind: Kind): unknown {
  if (v === undefined) return null
  return kind === 'time' && typeof v === 'number' ? new SqlDate(v) : v
}
