import type { QueryPlan } from 'squirreling'
import type { ReadTarget } from './find.js'

/** A listing's scan, read as find() reads `sort` + `limit`: in time order, at most `take` rows. */
export interface SortedLimit {
  table: string
  sort: Record<string, 1 | -1>
  take: number
}

/**
 * Recognizes a listing — `SELECT … FROM t [WHERE …] ORDER BY <t's time column> [ASC|DESC] LIMIT n
 * [OFFSET k]`, like the spec's "recent exceptions" (not its log search: a log line's own time is not
 * WorkerLogs' time column) — so its scan can be find()'s bounded
 * sorted read: newest (or oldest) partitions first, stopping once the n + k best rows are known,
 * holding only those. The engine still sorts, limits and projects what the scan returns, so the
 * answer is the row path's by construction; the scan only leaves out rows that could not be among
 * the first n + k. Valid only when the scan applies the whole WHERE itself (sqlTable checks).
 * Null for any other plan.
 */
export function sortedLimit(plan: QueryPlan, tables: Record<string, ReadTarget>): SortedLimit | null {
  if (plan.type !== 'Limit' || plan.limit === undefined || !Number.isFinite(plan.limit)) return null
  let node = plan.child
  if (node.type === 'Project') node = node.child
  if (node.type !== 'Sort' || node.orderBy.length !== 1) return null
  const [by] = node.orderBy
  const scan = node.child
  if (scan.type !== 'Scan' || !Object.hasOwn(tables, scan.table)) return null
  const target = tables[scan.table]!
  // find() reads in time order only where stored rows are the rows (not an aggregating view).
  if (target.aggregate || target.stored !== target.output) return null
  const tf = target.output.timeField
  if (by!.expr.type !== 'identifier' || by!.expr.name !== tf) return null
  const take = plan.limit + (plan.offset ?? 0)
  return { table: scan.table, sort: { [tf]: by!.direction === 'DESC' ? -1 : 1 }, take }
}
