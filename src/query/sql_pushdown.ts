import type { ExprNode } from 'squirreling'
import type { Filter } from '../expr/index.js'
import type { CollectionSchema } from '../schema/index.js'
import { PARAM_FUNCTION } from './sql_text.js'

/** What constants in a WHERE clause can refer to. */
export interface ConstEnv {
  now: number
  params: readonly unknown[]
}

const INTERVAL_MS: Record<string, number> = { SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 }

type Const = { value: unknown } | null

/** Evaluates a constant sub-expression (literals, parameters, NOW(), ± INTERVAL); null if it is not one. */
export function constValue(node: ExprNode, env: ConstEnv): Const {
  switch (node.type) {
    case 'literal': return { value: node.value }
    case 'function': {
      const name = node.funcName.toUpperCase()
      // Only NOW() reads the DB clock; CURRENT_TIMESTAMP is the engine's own wall clock, so it is not pushed down.
      if (name === 'NOW' && node.args.length === 0) return { value: new Date(env.now) }
      if (name === PARAM_FUNCTION && node.args.length === 1 && node.args[0]!.type === 'literal') {
        return { value: env.params[Number(node.args[0]!.value)] }
      }
      return null
    }
    case 'binary': {
      if (node.op !== '+' && node.op !== '-') return null
      const left = constValue(node.left, env)
      if (!left || !(left.value instanceof Date)) return null
      // The engine applies fractional intervals by its own rounding; leave those to it.
      if (node.right.type !== 'interval' || !Number.isInteger(node.right.value)) return null
      const sign = node.op === '+' ? 1 : -1
      return { value: addInterval(left.value, sign * node.right.value, node.right.unit) }
    }
    default: return null
  }
}

function addInterval(d: Date, n: number, unit: string): Date {
  if (unit === 'MONTH' || unit === 'YEAR') {
    const r = new Date(d)
    r.setUTCMonth(r.getUTCMonth() + (unit === 'YEAR' ? 12 * n : n))
    return r
  }
  return new Date(d.getTime() + n * (INTERVAL_MS[unit] ?? 0))
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=', '==': '=' }
const MONGO: Record<string, string> = { '=': '$eq', '==': '$eq', '<': '$lt', '<=': '$lte', '>': '$gt', '>=': '$gte' }

export interface Pushdown {
  filter: Filter
  /**
   * True when the filter is exactly the WHERE clause (every conjunct translated, with the
   * same semantics in both engines), so the engine need not evaluate it again per row.
   */
  complete: boolean
}

/**
 * The part of a WHERE clause that can prune reads, as a find() filter: the AND-ed
 * comparisons and IN lists of a typed column against constants of that column's type.
 * Whatever cannot be translated is left out, so the filter selects a superset; the engine
 * then applies the WHERE itself unless the translation was complete.
 */
export function wherePushdown(where: ExprNode | undefined, schema: CollectionSchema, env: ConstEnv): Pushdown {
  const parts: Filter[] = []
  let complete = true
  const visit = (n: ExprNode): void => {
    if (n.type === 'binary' && n.op === 'AND') { visit(n.left); visit(n.right); return }
    if (n.type === 'binary' && MONGO[n.op]) {
      let column = n.left
      let other = n.right
      let op = n.op as string
      if (column.type !== 'identifier') { column = n.right; other = n.left; op = FLIP[op]! }
      // A qualified name (a.status) may belong to an outer query's table: not ours to prune on.
      if (column.type !== 'identifier' || column.prefix) { complete = false; return }
      const c = constValue(other, env)
      if (!c || !fits(schema, column.name, c.value)) { complete = false; return }
      parts.push({ [filterKey(schema, column.name)]: { [MONGO[op]!]: c.value } })
      if (!exact(schema, column.name, MONGO[op]!)) complete = false
      return
    }
    if (n.type === 'in valuelist' && n.expr.type === 'identifier' && !n.expr.prefix) {
      const name = n.expr.name
      const values = n.values.map(v => constValue(v, env))
      if (values.some(v => !v || !fits(schema, name, v.value))) { complete = false; return }
      parts.push({ [filterKey(schema, name)]: { $in: values.map(v => v!.value) } })
      if (!exact(schema, name, '$in')) complete = false
      return
    }
    if (n.type === 'unary' && (n.op === 'IS NOT NULL' || n.op === 'IS NULL') && n.argument.type === 'identifier'
      && !n.argument.prefix) {
      const nullTest = nullPushdown(schema, n.argument.name, n.op === 'IS NOT NULL')
      if (!nullTest) { complete = false; return }
      parts.push(nullTest.filter)
      if (!nullTest.exact) complete = false
      return
    }
    complete = false
  }
  if (where) visit(where)
  return { filter: parts.length ? { $and: parts } : {}, complete: complete && !!where }
}

/**
 * Where find() and the SQL engine agree exactly: numbers in every comparison, timestamps in
 * ranges (the engine compares Dates for equality by identity), strings for equality only
 * (their orders differ beyond U+FFFF).
 */
function exact(schema: CollectionSchema, column: string, op: string): boolean {
  const type = schema.fields.find(f => f.name === column)?.type
  if (type === 'int' || type === 'double') return true
  if (type === 'timestamp') return op !== '$eq' && op !== '$in'
  if (type === 'string' || type === 'boolean') return op === '$eq' || op === '$in'
  return false
}

/**
 * A promoted column (`status`) filters as its nested path (`event.response.status`), which
 * prunes by the column's statistics. The nested value may hold what the typed column does not
 * (a string status), so the filter keeps a superset and is never exact (see `exact`).
 */
function filterKey(schema: CollectionSchema, column: string): string {
  if (schema.fields.some(f => f.name === column)) return column
  return schema.promoted.find(p => p.name === column)?.path.join('.') ?? column
}

/** Only a constant of the column's own type pushes down; SQL's coercions are left to the engine. */
function fits(schema: CollectionSchema, column: string, value: unknown): boolean {
  const p = schema.fields.some(x => x.name === column) ? undefined : schema.promoted.find(x => x.name === column)
  const f = p ? { type: p.type, array: false } : schema.fields.find(x => x.name === column && !x.hidden)
  if (!f || f.array || value === null || value === undefined) return false
  switch (f.type) {
    case 'string': return typeof value === 'string'
    case 'int': case 'double': return typeof value === 'number' && Number.isFinite(value)
    case 'timestamp': return value instanceof Date && !Number.isNaN(value.getTime())
    case 'boolean': return typeof value === 'boolean'
    default: return false
  }
}

/**
 * `x IS [NOT] NULL` as `$exists`. Exact on a scalar field: a stored row holds it or null, as SQL sees
 * it. A promoted column is null also where its path holds another type, so only IS NOT NULL pushes
 * down there (its path holds something: a superset). Arrays are left to the engine (`[]` is not NULL).
 */
function nullPushdown(
  schema: CollectionSchema, column: string, notNull: boolean,
): { filter: Filter; exact: boolean } | null {
  const field = schema.fields.find(f => f.name === column && !f.hidden)
  if (field) return field.array ? null : { filter: { [column]: { $exists: notNull } }, exact: true }
  const promoted = schema.promoted.find(p => p.name === column)
  if (!promoted || !notNull) return null
  return { filter: { [promoted.path.join('.')]: { $exists: true } }, exact: false }
}
