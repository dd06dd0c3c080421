import {
  type Filter, compareTotal, compileFilter, ExprError, type ExpressionEnv, filterRoots, splitPath,
} from '../expr/index.js'
import { type CollectionSchema, type StoredRow, getPath, toPublicRow } from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import type { BufferSource } from '../wal/index.js'
import { type Projection, compileProjection } from './projection.js'
import { buildPruner } from './pruning.js'
import { type ScanStats, type WalSource, emptyScanStats, scanCollection } from './scan.js'
import { type ViewPlan, finalizeRow, mergeStateRows, stateRowDecoder } from '../mv/index.js'
import type { Manifest } from '../manifest/index.js'
import { QueryBudget, type QueryLimits, limitProblem, resolveLimits } from './budget.js'

export interface FindOptions {
  /** `{ field: 1 | -1, ... }`, applied in key order. */
  sort?: Record<string, 1 | -1>
  limit?: number
  skip?: number
  project?: Projection
  /** This query's time limit in ms (the DB's `query.timeoutMs` otherwise; see QueryLimits). */
  timeoutMs?: number
  /** This query's limit on rows held in memory (the DB's `query.maxRows` otherwise; see QueryLimits). */
  maxRows?: number
  /** Storage requests this query keeps in flight (the DB's `concurrency` otherwise, 16 by default). */
  concurrency?: number
  /**
   * With `ingest.buffer`: false reads only what the buffer shards have flushed to the WAL (no
   * request to the shards; events acknowledged in the last `maxWaitMs` or so are missing). Default true.
   */
  buffers?: boolean
}

/** What `explain()` reports: the scan's pruning and R2 costs, plus the rows matched and returned. */
export interface Explain extends ScanStats {
  rowsMatched: number
  rowsReturned: number
  timeRange: { from: Date | null; to: Date | null }
  prunedOn: string[]
}

/**
 * What a query reads: a collection (files and its WAL as they are), or a view (its files,
 * plus its root's WAL tail run through the view; an aggregating view merges partial states
 * by group and finalizes them before the filter sees them).
 */
export interface ReadTarget {
  /** The schema of the stored files. */
  stored: CollectionSchema
  /** The rows the filter, sort and projection address. */
  output: CollectionSchema
  wal?: WalSource | false
  aggregate?: NonNullable<ViewPlan['aggregate']>
}

export function collectionTarget(schema: CollectionSchema): ReadTarget {
  return { stored: schema, output: schema }
}

export interface FindContext {
  bucket: () => Promise<Bucket>
  prefix: string
  now: () => number
  expression?: ExpressionEnv
  /** Resolves once what expressions need (the `$hash` wasm) is loaded. */
  ready?: () => Promise<void>
  /** Pins every scan to one manifest version (set per SQL query). */
  snapshot?: () => Promise<Manifest>
  /** The DB's default query limits. */
  limits?: QueryLimits
  /** The compaction grace period readers must stay inside (`compaction.graceMs`). */
  graceMs: number
  /** Storage requests a query keeps in flight unless it says otherwise (DB `concurrency`). */
  concurrency: number
  /** A budget shared by every scan of one SQL query; a find() of its own makes its own. */
  budget?: QueryBudget
  /** The group-commit buffers whose unflushed events reads merge (DB `ingest.buffer`). */
  buffers?: BufferSource
}

/**
 * The result of `find()`: `await q` (or `q.items`) gives an array, `for await` streams with
 * bounded memory, `q.explain()` runs it and reports what it read. Each of these runs the
 * query afresh against the current manifest and WAL.
 */
export class FindQuery<T> implements PromiseLike<T[]>, AsyncIterable<T> {
  /** What the last completed run read. */
  stats: Explain | null = null

  private readonly schema: CollectionSchema

  constructor(
    private readonly target: ReadTarget,
    private readonly ctx: FindContext,
    private readonly filter: Filter | undefined,
    private readonly options: FindOptions = {},
  ) {
    const schema = (this.schema = target.output)
    // Compile now, so a bad filter throws at the call site rather than on first await.
    compileFilter(filter, ctx.expression)
    const projected = compileProjection(options.project).roots
    const fields = new Set(schema.fields.filter(f => !f.hidden).map(f => f.name))
    const unknown = (where: string, roots: Iterable<string>) => {
      for (const r of roots) {
        if (!fields.has(r)) {
          throw new ExprError(`${where} names ${JSON.stringify(r)}, which ${schema.name} does not have; ` +
            `its fields: ${[...fields].join(', ')}`)
        }
      }
    }
    unknown('the filter', filterRoots(filter))
    unknown('the projection', projected ?? [])
    for (const [k, v] of Object.entries(options.sort ?? {})) {
      unknown('sort', [splitPath(k)[0]!])
      if (v !== 1 && v !== -1) throw new ExprError(`sort.${k} must be 1 or -1, got ${JSON.stringify(v)}`)
    }
    if (options.buffers !== undefined && typeof options.buffers !== 'boolean') {
      throw new ExprError(`buffers must be true or false, got ${JSON.stringify(options.buffers)}`)
    }
    const c = options.concurrency
    if (c !== undefined && (!Number.isInteger(c) || c < 1)) {
      throw new ExprError(`concurrency must be a positive integer, got ${JSON.stringify(c)}`)
    }
    for (const k of ['limit', 'skip'] as const) {
      const v = options[k]
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
        throw new ExprError(`${k} must be a non-negative integer, got ${JSON.stringify(v)}`)
      }
    }
    for (const k of ['timeoutMs', 'maxRows'] as const) {
      const problem = limitProblem('', k, options[k])
      if (problem) throw new ExprError(problem)
    }
  }

  then<A = T[], B = never>(
    onfulfilled?: ((value: T[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.toArray().then(onfulfilled, onrejected)
  }

  get items(): Promise<T[]> {
    return this.toArray()
  }

  async toArray(): Promise<T[]> {
    const budget = this.budget()
    const out: T[] = []
    // The array is what the caller asked to hold: it counts against maxRows.
    for await (const row of this.run(budget)) {
      budget.hold()
      out.push(row)
    }
    return out
  }

  async explain(): Promise<Explain> {
    for await (const _ of this) { /* run to completion */ }
    return this.stats!
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.run(this.budget())
  }

  private budget(): QueryBudget {
    const { timeoutMs, maxRows } = this.options
    return this.ctx.budget ?? new QueryBudget(resolveLimits(this.ctx.limits, { timeoutMs, maxRows }), 'find')
  }

  private async *run(budget: QueryBudget): AsyncGenerator<T> {
    const { schema, options, target } = this
    // A find() of its own does not count the time its caller spends between rows; a SQL scan's
    // budget is the whole query's, so its clock runs on.
    const own = budget !== this.ctx.budget
    const predicate = compileFilter(this.filter, this.ctx.expression)
    const projection = compileProjection(options.project)
    const pruner = buildPruner(target.stored, this.filter)
    const sortKeys = Object.entries(options.sort ?? {}).map(([k, dir]) => [splitPath(k), dir] as const)
    const roots = target.aggregate
      ? null
      : neededRoots(schema, this.filter, projection.roots, sortKeys.map(([p]) => p[0]!))
    const stats: Explain = {
      ...emptyScanStats(), rowsMatched: 0, rowsReturned: 0, prunedOn: pruner.columns.map(c => c.column),
      timeRange: {
        from: pruner.range.from === undefined ? null : new Date(pruner.range.from),
        to: pruner.range.to === undefined ? null : new Date(pruner.range.to),
      },
    }
    const skip = options.skip ?? 0
    const limit = options.limit ?? Infinity
    // Sorted first by the time field with a limit: once the best rows are found, files and
    // segments entirely later (earlier, descending) than the worst of them are not read.
    const best: StoredRow[] = []
    const tf = target.stored.timeField
    const [first] = sortKeys
    const timeOrdered = target.stored === target.output && first !== undefined
      && first[0].length === 1 && first[0][0] === tf && Number.isFinite(limit)
    const worstKept = () => (best.length >= skip + limit ? best[best.length - 1]![tf] as number : undefined)
    const order = timeOrdered ? { dir: first![1], bound: worstKept } : undefined
    await this.ctx.ready?.()
    const bucket = await this.ctx.bucket()
    const scanned = scanCollection(bucket, target.stored, {
      prefix: this.ctx.prefix, now: this.ctx.now(), pruner, graceMs: this.ctx.graceMs,
      concurrency: options.concurrency ?? this.ctx.concurrency,
      ...(roots ? { columns: [...roots] } : {}),
      ...(target.aggregate ? { decode: stateRowDecoder(target.aggregate) } : {}),
      ...(target.wal !== undefined ? { wal: target.wal } : {}),
      ...(this.ctx.snapshot ? { manifest: this.ctx.snapshot() } : {}),
      ...(order ? { order } : {}),
      ...(this.ctx.buffers && options.buffers !== false ? { buffers: this.ctx.buffers } : {}),
    }, stats)
    const rows = target.aggregate ? finalized(target.aggregate, scanned, budget) : scanned
    const shape = (row: StoredRow) => projection.apply(toPublicRow(schema, row, roots ?? undefined)) as T
    try {
      if (limit === 0) return
      if (sortKeys.length === 0) {
        let seen = 0
        for await (const row of rows) {
          budget.check()
          if (!predicate(row)) continue
          stats.rowsMatched++
          if (seen++ < skip) continue
          stats.rowsReturned++
          const out = shape(row)
          if (own) budget.pause()
          yield out
          if (own) budget.resume()
          if (stats.rowsReturned >= limit) return
        }
        return
      }
      // Sorted: keep only the best skip+limit rows, so memory is bounded by what is asked for.
      const cmp = (a: StoredRow, b: StoredRow) => {
        for (const [parts, dir] of sortKeys) {
          const c = compareTotal(getPath(a, parts), getPath(b, parts))
          if (c !== 0) return c * dir
        }
        return 0
      }
      const keep = skip + limit
      for await (const row of rows) {
        budget.check()
        if (!predicate(row)) continue
        stats.rowsMatched++
        if (best.length >= keep && cmp(row, best[best.length - 1]!) >= 0) continue
        let lo = 0
        let hi = best.length
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (cmp(best[mid]!, row) <= 0) lo = mid + 1
          else hi = mid
        }
        best.splice(lo, 0, row)
        if (best.length > keep) best.pop()
        else budget.hold()
      }
      budget.release(best.length)
      for (const row of best.slice(skip)) {
        stats.rowsReturned++
        const out = shape(row)
        if (own) budget.pause()
        yield out
        if (own) budget.resume()
      }
    } finally {
      await rows.return(undefined)
      this.stats = stats
    }
  }
}

/** Top-level fields a query must read, or null for all of them. */
function neededRoots(
  schema: CollectionSchema, filter: Filter | undefined, projected: Set<string> | null, sortRoots: string[],
): Set<string> | null {
  if (!projected) return null
  const fromFilter = filterRoots(filter)
  const names = new Set(schema.fields.map(f => f.name))
  const roots = new Set([...projected, ...fromFilter, ...sortRoots, schema.timeField])
  for (const r of roots) if (!names.has(r)) roots.delete(r)
  return roots
}

/**
 * An aggregating view's rows: every partial state in range, combined by group, then finalized.
 * The states are held in memory until then, so they count against the query's maxRows.
 */
async function* finalized(
  agg: NonNullable<ViewPlan['aggregate']>,
  states: AsyncGenerator<StoredRow>,
  budget: QueryBudget,
): AsyncGenerator<StoredRow> {
  const all: StoredRow[] = []
  try {
    for await (const s of states) {
      budget.check()
      budget.hold()
      all.push(s)
    }
    for (const row of mergeStateRows(agg, all)) yield finalizeRow(agg, row)
  } finally {
    budget.release(all.length)
  }
}
