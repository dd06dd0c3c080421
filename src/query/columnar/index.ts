import type { QueryPlan } from 'squirreling'
import type { QueryBudget } from '../budget.js'
import type { Explain, FindContext, ReadTarget } from '../find.js'
import { buildPruner } from '../pruning.js'
import { emptyScanStats } from '../scan.js'
import { type ConstEnv, wherePushdown } from '../sql_pushdown.js'
import { scanColumns } from './column_scan.js'
import { aggregateBatches } from './execute.js'
import { NotColumnar } from './expression.js'
import { type ColumnarQuery, planRowGroup, recognize } from './recognize.js'
import { columnarColumns } from './table_columns.js'

export { NotColumnar } from './expression.js'

export type ColumnarAttempt =
  | { ran: true; rows: Record<string, unknown>[]; table: string; stats: Explain }
  | { ran: false; reason: string }

/**
 * Runs a statement's plan on the columnar path if it is a single-table aggregate the path
 * handles (see docs/sql.md); otherwise says why not, and the caller runs the row engine. The
 * scan prunes exactly as the row path's find() does (the WHERE's pushed-down part), reads the
 * same manifest version and WAL tail (invariants read-your-writes, exactly-once), and decodes
 * only the columns the query names.
 */
export async function tryColumnar(
  plan: QueryPlan, tables: Record<string, ReadTarget>, ctx: FindContext, env: ConstEnv, budget?: QueryBudget,
): Promise<ColumnarAttempt> {
  let query: ColumnarQuery
  try {
    query = recognize(plan, name => {
      const t = Object.hasOwn(tables, name) ? tables[name] : undefined
      // An aggregating view's rows are merged states: the row path finalizes them.
      return t && !t.aggregate ? columnarColumns(t.output) : undefined
    }, env)
  } catch (e) {
    if (e instanceof NotColumnar) return { ran: false, reason: e.message }
    throw e
  }
  const target = tables[query.table]!
  const pushed = wherePushdown(query.where, target.output, env)
  const pruner = buildPruner(target.stored, pushed.filter)
  const stats: Explain = {
    ...emptyScanStats(), rowsMatched: 0, rowsReturned: 0, prunedOn: pruner.columns.map(c => c.column),
    timeRange: {
      from: pruner.range.from === undefined ? null : new Date(pruner.range.from),
      to: pruner.range.to === undefined ? null : new Date(pruner.range.to),
    },
  }
  await ctx.ready?.()
  const bucket = await ctx.bucket()
  const batches = scanColumns(bucket, target.stored, {
    prefix: ctx.prefix, now: ctx.now(), pruner, concurrency: ctx.concurrency, graceMs: ctx.graceMs,
    columns: query.columns,
    rowGroup: stats => planRowGroup(query, stats),
    ...(ctx.snapshot ? { manifest: ctx.snapshot() } : {}),
    ...(target.wal !== undefined ? { wal: target.wal } : {}),
    ...(ctx.buffers ? { buffers: ctx.buffers } : {}),
  }, stats)
  const rows = await aggregateBatches(query, batches, budget, stats)
  stats.rowsReturned = rows.length
  return { ran: true, rows, table: query.table, stats }
}
