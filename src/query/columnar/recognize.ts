import { type ExprNode, type QueryPlan, derivedAlias } from 'squirreling'
import type { ConstEnv } from '../sql_pushdown.js'
import type { AggregateSpec, Cols } from './accumulators.js'
import { type Compiled, type Kind, NotColumnar, compileExpr } from './expression.js'
import type { GroupColumnStats, RowGroupPlan } from './column_scan.js'
import type { TableColumn } from './table_columns.js'

/** Group-level expressions read this: the group table's keys and each aggregate's result. */
export interface GroupContext {
  keys: unknown[][]
  aggregate: (index: number, group: number) => unknown
}

export interface OrderTerm {
  ev: Compiled<GroupContext>
  desc: boolean
  nullsFirst: boolean
}

/**
 * One AND-ed term of the WHERE (a row passes when every term is truthy). A comparison of a
 * numeric or timestamp column with a constant has `holds`: true when a row group's min and max
 * prove the term for every row, which is then neither evaluated nor, if nothing else reads its
 * column, decoded.
 */
export interface Conjunct {
  ev: Compiled<Cols>['ev']
  slots: number[]
  bound?: { slot: number; holds: (min: number, max: number) => boolean }
}

/** A single-table aggregate query the columnar executor runs. */
export interface ColumnarQuery {
  table: string
  where?: ExprNode
  /** The columns to decode, in the order row-level expressions address them. */
  columns: TableColumn[]
  conjuncts: Conjunct[]
  /** Column slots read by group keys and aggregates: decoded in every batch. */
  alwaysRead: Set<number>
  keys: Compiled<Cols>[]
  aggregates: AggregateSpec[]
  outputs: { name: string; value: Compiled<GroupContext> }[]
  having?: Compiled<GroupContext>
  orderBy: OrderTerm[]
  limit?: number
  offset?: number
}

const AGGREGATES: Record<string, AggregateSpec['kind']> = {
  COUNT: 'count', SUM: 'sum', AVG: 'avg', MIN: 'min', MAX: 'max', MEDIAN: 'quantile', PERCENTILE_CONT: 'quantile',
}
const OTHER_AGGREGATES = new Set(['ARRAY_AGG', 'JSON_ARRAYAGG', 'STDDEV_SAMP', 'STDDEV_POP', 'APPROX_QUANTILE',
  'STRING_AGG'])

/**
 * Recognizes the plan squirreling made for a statement (aliases already resolved the way it
 * resolves them) as an aggregate over one table scan: [Limit] → HashAggregate | ScalarAggregate
 * | Count → Scan. Throws NotColumnar, naming what is outside the path, for anything else.
 */
export function recognize(
  plan: QueryPlan, tableColumns: (table: string) => Map<string, TableColumn> | undefined, env: ConstEnv,
): ColumnarQuery {
  let node = plan
  let limit: number | undefined
  let offset: number | undefined
  if (node.type === 'Limit') {
    limit = node.limit
    offset = node.offset
    node = node.child
  }
  let groupBy: ExprNode[] = []
  let selectColumns: Extract<QueryPlan, { type: 'HashAggregate' | 'Count' }>['columns']
  let having: ExprNode | undefined
  let orderBy: NonNullable<Extract<QueryPlan, { type: 'HashAggregate' }>['orderBy']> = []
  let table: string
  let where: ExprNode | undefined
  if (node.type === 'Count') {
    table = node.table
    selectColumns = node.columns
  } else if (node.type === 'HashAggregate' || node.type === 'ScalarAggregate') {
    if (node.type === 'HashAggregate') {
      groupBy = node.groupBy
      orderBy = node.orderBy ?? []
    }
    selectColumns = node.columns
    having = node.having
    const scan = node.child
    if (scan.type !== 'Scan') throw new NotColumnar(`an aggregate over a ${scan.type}`)
    table = scan.table
    where = scan.hints.where
  } else {
    throw new NotColumnar(`a ${node.type} plan (not a single-table aggregate)`)
  }
  const available = tableColumns(table)
  if (!available) throw new NotColumnar(`table ${table}`)

  // Row level: columns of the batch, by slot.
  const columns: TableColumn[] = []
  const slots = new Map<string, number>()
  let used = new Set<number>()
  const rowLeaf = (n: ExprNode): Compiled<Cols> | undefined => {
    const fn = n.type === 'function' ? n.funcName.toUpperCase() : ''
    if (AGGREGATES[fn] || OTHER_AGGREGATES.has(fn)) throw new NotColumnar('an aggregate inside an aggregate or a WHERE')
    if (n.type !== 'identifier') return undefined
    if (n.prefix && n.prefix !== table) throw new NotColumnar(`qualified column ${n.prefix}.${n.name}`)
    const col = available.get(n.name)
    if (!col) throw new NotColumnar(`column ${n.name} (not a typed scalar column)`)
    let slot = slots.get(col.name)
    if (slot === undefined) {
      slot = columns.push(col) - 1
      slots.set(col.name, slot)
    }
    const s = slot
    used.add(s)
    return { kind: col.kind, ev: (c, i) => c[s]![i] }
  }
  const row = (n: ExprNode) => compileExpr(n, rowLeaf, env)
  const conjuncts = (where ? andTerms(where) : []).map((term): Conjunct => {
    used = new Set()
    const c = row(term)
    if (c.kind === 'time') throw new NotColumnar('a timestamp as a WHERE condition')
    const slots = [...used]
    const bound = rangeBound(term, row, slots)
    return { ev: c.ev, slots, ...(bound ? { bound } : {}) }
  })
  const alwaysRead = (used = new Set())
  const keys = groupBy.map(row)
  const keyText = groupBy.map(shape)

  // Group level: aggregates, group keys, and (in HAVING and ORDER BY) the output columns.
  const aggregates: AggregateSpec[] = []
  const outputs: { name: string; value: Compiled<GroupContext> }[] = []
  const groupLeaf = (outputsVisible: boolean) => (n: ExprNode): Compiled<GroupContext> | undefined => {
    if (n.type === 'function') {
      const fn = n.funcName.toUpperCase()
      if (OTHER_AGGREGATES.has(fn)) throw new NotColumnar(`aggregate ${fn}`)
      const kind = AGGREGATES[fn]
      if (kind) return aggregate(n, fn, kind)
    }
    if (n.type === 'identifier' && outputsVisible) {
      const out = outputs.find(o => o.name === n.name)
      if (out) return out.value
    }
    const k = keyText.indexOf(shape(n))
    if (k >= 0) return { kind: keys[k]!.kind, ev: (ctx, g) => ctx.keys[k]![g] }
    if (n.type === 'identifier') throw new NotColumnar(`column ${n.name} outside an aggregate and not grouped by`)
    return undefined
  }
  // The same aggregate written twice (SUM(...) in a column and again in a ratio) is computed once.
  const seen = new Map<string, Compiled<GroupContext>>()
  const aggregate = (n: Extract<ExprNode, { type: 'function' }>, fn: string, kind: AggregateSpec['kind']) => {
    const text = shape(n)
    const known = seen.get(text)
    if (known) return known
    const spec: AggregateSpec = { kind }
    let argNode = n.args[0]
    let argKind: Kind = 'number'
    if (fn === 'COUNT' && argNode?.type === 'star') spec.kind = n.distinct ? 'countDistinct' : 'countStar'
    else {
      if (fn === 'PERCENTILE_CONT') {
        const f = row(n.args[0]!)
        const fraction = f.constant?.value
        if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
          throw new NotColumnar('PERCENTILE_CONT with a fraction that is not a constant in [0, 1]')
        }
        spec.fraction = fraction
        argNode = n.args[1]
      } else if (fn === 'MEDIAN') spec.fraction = 0.5
      if (!argNode || n.args.length > (fn === 'PERCENTILE_CONT' ? 2 : 1)) throw new NotColumnar(`${fn} arguments`)
      const arg = row(argNode)
      argKind = arg.kind
      if (n.distinct && fn !== 'COUNT') throw new NotColumnar(`${fn}(DISTINCT ...)`)
      if (n.distinct) spec.kind = 'countDistinct'
      if ((kind === 'sum' || kind === 'avg' || kind === 'quantile') && (arg.kind === 'time' || arg.kind === 'any')) {
        throw new NotColumnar(`${fn} of a ${arg.kind === 'time' ? 'timestamp' : 'mixed-type value'}`)
      }
      if ((kind === 'min' || kind === 'max') && arg.kind === 'any') throw new NotColumnar(`${fn} of mixed types`)
      spec.arg = arg.ev
    }
    if (n.filter) {
      const f = row(n.filter)
      if (f.kind === 'time') throw new NotColumnar('a timestamp as a FILTER condition')
      spec.filter = f.ev
    }
    const index = aggregates.push(spec) - 1
    const resultKind: Kind = spec.kind === 'min' || spec.kind === 'max' ? argKind : 'number'
    const compiled: Compiled<GroupContext> = { kind: resultKind, ev: (ctx, g) => ctx.aggregate(index, g) }
    seen.set(text, compiled)
    return compiled
  }
  const names = new Set<string>()
  for (const col of selectColumns) {
    if (col.type !== 'derived') throw new NotColumnar('SELECT * with an aggregate')
    const name = col.alias ?? derivedAlias(col.expr)
    if (names.has(name)) throw new NotColumnar(`two output columns named ${name}`)
    names.add(name)
    outputs.push({ name, value: compileExpr(col.expr, groupLeaf(false), env) })
  }
  const post = groupLeaf(true)
  const havingC = having ? compileExpr(having, post, env) : undefined
  if (havingC?.kind === 'time') throw new NotColumnar('a timestamp as the HAVING condition')
  const terms = orderBy.map(t => {
    // Timestamps order by time on both paths (see SqlDate).
    const ev = compileExpr(t.expr, post, env)
    return { ev, desc: t.direction === 'DESC', nullsFirst: t.nulls !== 'LAST' }
  })
  return {
    table, ...(where ? { where } : {}), columns, conjuncts, alwaysRead, keys, aggregates, outputs,
    ...(havingC ? { having: havingC } : {}), orderBy: terms,
    ...(limit !== undefined ? { limit } : {}), ...(offset !== undefined ? { offset } : {}),
  }
}

/**
 * A row group's plan: the WHERE terms its statistics prove for every row (no NULLs, min and
 * max inside the bound), and the columns still needed once those terms are dropped.
 */
export function planRowGroup(query: ColumnarQuery, stats: (column: string) => GroupColumnStats): RowGroupPlan {
  const proven = query.conjuncts.map(c => {
    if (!c.bound) return false
    const s = stats(query.columns[c.bound.slot]!.name)
    return s.nulls === 0 && s.min !== undefined && s.max !== undefined && c.bound.holds(s.min, s.max)
  })
  const decode = query.columns.map((_, slot) => query.alwaysRead.has(slot))
  query.conjuncts.forEach((c, k) => { if (!proven[k]) for (const s of c.slots) decode[s] = true })
  return { decode, proven }
}

function andTerms(node: ExprNode): ExprNode[] {
  return node.type === 'binary' && node.op === 'AND' ? [...andTerms(node.left), ...andTerms(node.right)] : [node]
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' }

/** For `column op constant` (either way round) on a number or timestamp: the test on a row group's min and max. */
function rangeBound(
  term: ExprNode, row: (n: ExprNode) => Compiled<Cols>, slots: number[],
): Conjunct['bound'] | undefined {
  if (term.type !== 'binary' || !FLIP[term.op] || slots.length !== 1) return undefined
  let [col, other, op] = [term.left, term.right, term.op as string]
  if (col.type !== 'identifier') [col, other, op] = [term.right, term.left, FLIP[op]!]
  if (col.type !== 'identifier') return undefined
  const c = row(col)
  const v = row(other).constant?.value
  if ((c.kind !== 'number' && c.kind !== 'time') || typeof v !== 'number' || Number.isNaN(v)) return undefined
  const slot = slots[0]!
  switch (op) {
    case '>': return { slot, holds: min => min > v }
    case '>=': return { slot, holds: min => min >= v }
    case '<': return { slot, holds: (_, max) => max < v }
    default: return { slot, holds: (_, max) => max <= v }
  }
}

/** An expression's structure without its position in the text, to match SELECT terms to GROUP BY terms. */
function shape(node: ExprNode): string {
  return JSON.stringify(node, (k, v: unknown) => (k === 'positionStart' || k === 'positionEnd' || k === 'prefix'
    ? undefined
    : v))
}
