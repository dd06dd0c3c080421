import type { AsyncDataSource, AsyncRow, ScanOptions, SqlPrimitive } from 'squirreling'
import { getPath, promotedValue } from '../schema/index.js'
import { type Explain, type FindContext, FindQuery, type ReadTarget } from './find.js'
import { SqlDate } from './sql_date.js'
import { type ConstEnv, wherePushdown } from './sql_pushdown.js'
import type { SortedLimit } from './sql_listing.js'

/**
 * A collection or view as a SQL table. Its columns are the row's fields, the promoted columns
 * under their own names (`url`, `status`: the typed value the Parquet column holds, null when
 * the nested value has another type) and the promoted nested paths as quoted names
 * (`"event.request.url"`: the nested value as it is). Each scan is a find():
 * the WHERE clause's prunable part chooses partitions, files and row groups, and only the
 * columns the query names are read. A listing's scan (`sorted`, asked once the WHERE is known to be
 * applied whole) reads in time order and stops at its limit.
 */
export function sqlTable(
  target: ReadTarget, ctx: FindContext, env: ConstEnv, scans: Explain[],
  referenced: () => Set<string> | null = () => null,
  sorted: (whereApplied: boolean) => SortedLimit | null = () => null,
): AsyncDataSource {
  const schema = target.output
  const fields = schema.fields.filter(f => !f.hidden).map(f => f.name)
  const promoted = new Map(schema.promoted.filter(p => !fields.includes(p.name)).map(p => [p.name, p]))
  const nested = schema.promoted.map(p => p.path.join('.')).filter(p => !fields.includes(p))
  const all = [...fields, ...promoted.keys(), ...nested]
  return {
    columns: all,
    scan(options: ScanOptions) {
      const named = referenced()
      // The engine asks for all columns both for `*` and for COUNT(*); the statement tells which.
      const wanted = options.columns ?? (named ? all.filter(c => named.has(c)) : all)
      const roots = [...new Set(wanted.map(c => promoted.get(c)?.path[0] ?? c.split('.')[0]!))]
        .filter(r => fields.includes(r))
      const pushed = wherePushdown(options.where, schema, env)
      // Columns the WHERE reads must be read even when the engine will not evaluate it.
      // Nothing named (COUNT(*)): read one cheap visible column, just to count rows.
      const fallback = fields.includes(schema.timeField) ? schema.timeField : fields[0]!
      const project = Object.fromEntries((roots.length ? roots : [fallback]).map(r => [r, 1 as const]))
      const order = sorted(!options.where || pushed.complete)
      const query = new FindQuery<Record<string, unknown>>(target, ctx, pushed.filter,
        order ? { project, sort: order.sort, limit: order.take } : { project })
      const paths = wanted.map(c => (c.includes('.') ? c.split('.') : null))
      const typed = wanted.map(c => promoted.get(c))
      // The engine reads cells in loops of its own (join conditions, groupings): check the time there too.
      // It calls them inside its async functions, so a throw here rejects what it awaits.
      const budget = ctx.budget
      const cell = (value: SqlPrimitive) => () => {
        budget?.check()
        return Promise.resolve(value)
      }
      return {
        appliedWhere: pushed.complete,
        appliedLimitOffset: false,
        async *rows(): AsyncGenerator<AsyncRow> {
          try {
            for await (const row of query) {
              if (options.signal?.aborted) return
              const resolved: Record<string, SqlPrimitive> = {}
              const cells: AsyncRow['cells'] = {}
              for (let i = 0; i < wanted.length; i++) {
                const p = typed[i]
                const v = p ? promotedValue(row, p.path, p.type) : paths[i] ? getPath(row, paths[i]!) : row[wanted[i]!]
                // Ordered by time, not by text (see SqlDate).
                const time = v instanceof Date ? new SqlDate(v.getTime()) : v
                const value = (time === undefined ? null : time) as SqlPrimitive
                resolved[wanted[i]!] = value
                cells[wanted[i]!] = cell(value)
              }
              yield { columns: wanted, cells, resolved }
            }
          } finally {
            if (query.stats) scans.push(query.stats)
          }
        },
      }
    },
  }
}
