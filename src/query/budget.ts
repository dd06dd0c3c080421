/**
 * Every query runs under a budget, so one query can neither hang nor exhaust memory: a time
 * limit, a limit on the rows it holds in memory (counted, so the same query stops at the same
 * row on every run and runtime), and for SQL a limit on the row pairs its joins compare.
 * Defaults come from `DB(schema, { query })`; a call can override them.
 */
export interface QueryLimits {
  /**
   * Milliseconds a query may work. find() does not count the time a `for await` caller
   * spends between rows. Default 30,000.
   */
  timeoutMs?: number
  /**
   * Rows a query may hold in memory: sort buffers, aggregate states, join and DISTINCT
   * buffers, and the rows of a result returned as an array. Default 100,000: a SQL row of a
   * few columns held by the engine takes about 1.5 KB, a whole TailEvent about 7 KB.
   */
  maxRows?: number
  /** SQL only: row pairs a nested-loop join may compare (left rows × buffered right rows). Default 1,000,000. */
  maxJoinPairs?: number
}

export const DEFAULT_QUERY_LIMITS: Readonly<Required<QueryLimits>> = Object.freeze({
  timeoutMs: 30_000,
  maxRows: 100_000,
  maxJoinPairs: 1_000_000,
})

export type QueryLimitName = keyof QueryLimits

const NAMES: readonly QueryLimitName[] = ['timeoutMs', 'maxRows', 'maxJoinPairs']

/** What each limit counts and what to do about it, for the error's message. */
const ADVICE: Record<QueryLimitName, string> = {
  timeoutMs: 'ran longer than timeoutMs = %v ms; narrow its time range or filter',
  maxRows: 'held more than maxRows = %v rows in memory (sorting, grouping, joining or returning them); ' +
    'add a LIMIT or a narrower filter, or stream find() with for await',
  maxJoinPairs: 'would compare more than maxJoinPairs = %v row pairs in a join; ' +
    'filter both sides first or join on an equality (a hash join compares only matching rows)',
}

/** A query went past one of its limits. `limit` names it and `value` is the limit in force. */
export class QueryLimitError extends Error {
  override name = 'QueryLimitError'
  constructor(readonly limit: QueryLimitName, readonly value: number, readonly query: 'find' | 'sql') {
    const how = query === 'find' ? `find(filter, { ${limit} })` : `db.sql.with({ ${limit} })`
    const what = ADVICE[limit].replace('%v', value.toLocaleString('en-US'))
    super(`the ${query === 'find' ? 'find() query' : 'SQL query'} ${what}; or raise the limit for this query ` +
      `with ${how} or for every query with DB(schema, { query: { ${limit} } }) (Infinity turns it off)`)
  }
}

/** Why `value` cannot be the limit `name` (prefixed with `where`), or null if it can. */
export function limitProblem(where: string, name: string, value: unknown): string | null {
  if (!(NAMES as readonly string[]).includes(name)) {
    return `${where}${name} is not a query limit; the limits are ${NAMES.join(', ')}`
  }
  if (value === undefined) return null
  if (typeof value === 'number' && value > 0 && (Number.isInteger(value) || value === Infinity)) return null
  return `${where}${name} must be a positive integer (or Infinity for no limit), got ${String(value)}`
}

/** Checks every key of `limits`; throws the message `fail` builds from the first problem. */
export function checkLimits(limits: object | undefined, where: string, fail: (message: string) => Error): void {
  if (limits === undefined) return
  if (limits === null || typeof limits !== 'object') {
    throw fail(`${where.replace(/\.$/, '')} must be an object of query limits`)
  }
  for (const [k, v] of Object.entries(limits)) {
    const problem = limitProblem(where, k, v)
    if (problem) throw fail(problem)
  }
}

/** Later layers override earlier ones, key by key; absent keys keep the default. */
export function resolveLimits(...layers: (QueryLimits | undefined)[]): Required<QueryLimits> {
  const out = { ...DEFAULT_QUERY_LIMITS }
  for (const layer of layers) {
    for (const k of NAMES) if (layer?.[k] !== undefined) out[k] = layer[k]!
  }
  return out
}

/**
 * One query's spending. Rows are counted where the query buffers them (`hold`/`release`),
 * time is checked wherever rows move (`check`), join pairs before they are compared.
 */
export class QueryBudget {
  private held = 0
  private pairs = 0
  private spent = 0
  private since: number

  constructor(
    readonly limits: Required<QueryLimits>,
    readonly query: 'find' | 'sql',
    private readonly clock: () => number = Date.now,
  ) {
    this.since = clock()
  }

  /** Throws QueryLimitError once the query has worked longer than timeoutMs. */
  check(): void {
    if (this.spent + (this.clock() - this.since) > this.limits.timeoutMs) throw this.error('timeoutMs')
  }

  /** Stops the clock while the caller has a row (find() streaming); `resume` restarts it. */
  pause(): void {
    this.spent += this.clock() - this.since
  }

  resume(): void {
    this.since = this.clock()
  }

  /** Counts rows now held in memory; throws past maxRows. */
  hold(n = 1): void {
    this.held += n
    if (this.held > this.limits.maxRows) throw this.error('maxRows')
  }

  release(n = 1): void {
    this.held -= n
  }

  /** Counts row pairs a join is about to compare; throws past maxJoinPairs before comparing them. */
  compare(n: number): void {
    this.pairs += n
    if (this.pairs > this.limits.maxJoinPairs) throw this.error('maxJoinPairs')
  }

  /** Rows held now. */
  get rowsHeld(): number {
    return this.held
  }

  private error(limit: QueryLimitName): QueryLimitError {
    return new QueryLimitError(limit, this.limits[limit], this.query)
  }
}
