import { type AsyncDataSource, type QueryPlan, type UserDefinedFunction, parseSql, planSql } from 'squirreling'
import { QueryBudget, type QueryLimits, resolveLimits } from './budget.js'
import { ExprError } from '../expr/index.js'
import type { Explain, FindContext, ReadTarget } from './find.js'
import { type Manifest, loadManifest } from '../manifest/index.js'
import { sqlTable } from './sql_source.js'
import { PARAM_FUNCTION, type SqlText } from './sql_text.js'
import { executeWithin } from './sql_execute.js'
import { safeRegexFunctions, useSafeRegex } from './sql_regex.js'
import { tryColumnar } from './columnar/index.js'
import { type SortedLimit, sortedLimit } from './sql_listing.js'

export class SqlError extends Error {
  override name = 'SqlError'
  constructor(message: string, readonly position?: { start: number; end: number; line: number; column: number }) {
    super(message)
  }
}

/**
 * Which executor answered: column arrays (single-table aggregates), squirreling's rows, or
 * squirreling over a scan read in time order and stopped at the limit (listings).
 */
export type SqlPath = 'columnar' | 'rows' | 'sorted'

export interface SqlResult {
  rows: Record<string, unknown>[]
  /**
   * One entry per table scan the query made: what it pruned and read, its R2 operations, and
   * the path that consumed it.
   */
  scans: { table: string; stats: Explain; path: SqlPath }[]
  /** Why the columnar path did not run the query (absent when it did). */
  fallback?: string
}

export interface SqlOptions {
  /** False runs every query on the row engine (the differential tests compare the two paths). */
  columnar?: boolean
}

/**
 * Runs a SELECT over the DB's collections and views: single-table aggregates on the columnar
 * path (columnar/), everything else (and whatever that path does not handle) with squirreling.
 * `NOW()` reads the DB's clock (injectable); parameters come back through `__PARAM(i)`. The
 * query runs under the DB's query limits, overridden by `limits`.
 */
export async function runSql(
  sql: SqlText,
  tables: Record<string, ReadTarget>,
  ctx: FindContext,
  limits?: QueryLimits,
  options: SqlOptions = {},
): Promise<SqlResult> {
  const now = ctx.now()
  const budget = new QueryBudget(resolveLimits(ctx.limits, limits), 'sql')
  const env = { now, params: sql.params }
  // One manifest version for every table scan of this query (joins, subqueries, self-joins).
  // A pin older than half the GC grace period could miss collected WAL segments: re-read then.
  let pinned: { at: number; manifest: Promise<Manifest> } | undefined
  const shared: FindContext = {
    ...ctx,
    budget,
    snapshot: () => {
      if (!pinned || Date.now() - pinned.at > ctx.graceMs / 2) {
        pinned = {
          at: Date.now(), manifest: ctx.bucket().then(b => loadManifest(b, ctx.prefix, now)).then(l => l.manifest),
        }
      }
      return pinned.manifest
    },
  }
  const scans: SqlResult['scans'] = []
  const sources: Record<string, AsyncDataSource> = {}
  // Known once the query is parsed; the scans start only after that.
  let referenced: Set<string> | null = null
  let listing: SortedLimit | null = null
  for (const [name, target] of Object.entries(tables)) {
    const collected: Explain[] = []
    let path: SqlPath = 'rows'
    const sorted = (whereApplied: boolean) => {
      if (!whereApplied || listing?.table !== name) return null
      path = 'sorted'
      return listing
    }
    const src = sqlTable(target, shared, env, collected, () => referenced, sorted)
    sources[name] = {
      ...src,
      scan: opts => {
        const res = src.scan(opts)
        const rows = res.rows
        return {
          ...res,
          rows: () => (async function* () {
            try {
              yield* rows()
            } finally {
              for (const s of collected.splice(0)) scans.push({ table: name, stats: s, path })
            }
          })(),
        }
      },
    }
  }
  const fixedNow: UserDefinedFunction = { apply: () => new Date(now), arguments: { min: 0, max: 0 } }
  const functions: Record<string, UserDefinedFunction> = {
    NOW: fixedNow,
    [PARAM_FUNCTION]: {
      apply: i => {
        const v = sql.params[Number(i)]
        return (v === undefined ? null : v) as never
      },
      arguments: { min: 1, max: 1 },
    },
  }
  try {
    const statement = parseSql({ query: sql.text, functions })
    referenced = referencedColumns(statement)
    useSafeRegex(statement)
    const all = { ...functions, ...safeRegexFunctions(budget) }
    let plan: QueryPlan | null = null
    try {
      plan = planSql({ query: statement, functions: all, tables: sources })
    } catch {
      // The row engine plans it again and reports the problem with its position.
    }
    const columnar = !plan ? null
      : options.columnar === false ? { ran: false as const, reason: 'turned off (columnar: false)' }
      : await tryColumnar(plan, tables, shared, env, budget)
    if (columnar?.ran) {
      budget.hold(columnar.rows.length)
      return { rows: columnar.rows, scans: [{ table: columnar.table, stats: columnar.stats, path: 'columnar' }] }
    }
    if (plan && options.columnar !== false) {
      // The listing's bound applies to its one scan: a subquery over the same table needs every row.
      const l = sortedLimit(plan, tables)
      listing = l && tableMentions(statement, l.table) === 1 ? l : null
    }
    const rows = await executeWithin(statement, sources, all, budget)
    const fallback = columnar ? columnar.reason : 'the statement does not plan'
    return { rows: rows as Record<string, unknown>[], scans, fallback }
  } catch (e) {
    throw toSqlError(e, sql.text)
  }
}

function toSqlError(e: unknown, text: string): Error {
  if (!(e instanceof Error)) return new SqlError(String(e))
  // A pattern RE2 cannot run, a refused regex function: problems of the query's text.
  if (e instanceof ExprError) return Object.assign(new SqlError(e.message), { cause: e })
  const pos = e as Error & { positionStart?: number; positionEnd?: number }
  if (typeof pos.positionStart !== 'number') return e
  const before = text.slice(0, pos.positionStart)
  const line = before.split('\n').length
  const column = pos.positionStart - before.lastIndexOf('\n')
  const snippet = text.split('\n')[line - 1] ?? ''
  const where = { start: pos.positionStart, end: pos.positionEnd ?? pos.positionStart, line, column }
  const err = new SqlError(`${e.message} (line ${line}, column ${column})\n  ${snippet.trim()}`, where)
  ;(err as Error & { cause?: unknown }).cause = e
  return err
}

/** How many times the statement reads `table` (its FROM, joins, subqueries, CTEs). */
function tableMentions(statement: unknown, table: string): number {
  let n = 0
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return
    if (Array.isArray(node)) { for (const x of node) walk(x); return }
    const o = node as Record<string, unknown>
    if (o.type === 'table' && o.table === table) n++
    for (const v of Object.values(o)) walk(v)
  }
  walk(statement)
  return n
}

/**
 * Every column name the statement mentions, or null if it selects `*` somewhere. The engine
 * asks a scan for "all columns" both for `SELECT *` and for `COUNT(*)`; this tells them apart,
 * so `SELECT COUNT(*)` does not decode every variant column.
 */
function referencedColumns(statement: unknown): Set<string> | null {
  const names = new Set<string>()
  let star = false
  const walk = (node: unknown, inSelectList: boolean): void => {
    if (star || node === null || typeof node !== 'object') return
    if (Array.isArray(node)) { for (const n of node) walk(n, inSelectList); return }
    const o = node as Record<string, unknown>
    if (o.type === 'identifier' && typeof o.name === 'string') names.add(o.name)
    if (o.type === 'star' && inSelectList) { star = true; return }
    for (const [k, v] of Object.entries(o)) walk(v, k === 'columns')
  }
  walk(statement, false)
  return star ? null : names
}
