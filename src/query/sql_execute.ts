import {
  type AsyncDataSource,
  type AsyncRow,
  type ExecuteContext,
  type QueryPlan,
  type SqlPrimitive,
  type Statement,
  type UserDefinedFunction,
  collect,
  executePlan,
  planSql,
} from 'squirreling'
import type { QueryBudget } from './budget.js'

/**
 * What passes along one edge of the plan: `held` rows are buffered by the operator above
 * (a sort, a grouping, a join's build side, DISTINCT, a set operation); `pairs` says how many
 * row pairs a nested-loop join compares for each row that arrives.
 */
interface Edge {
  held: boolean
  pairs?: () => number
  /** Rows that passed in the current run of the edge (a nested-loop join's right side). */
  count?: { n: number }
}

/**
 * Runs a parsed statement as squirreling's `executeSql` does (plan, then execute), with every
 * edge into a buffering operator routed through a counter. The engine holds those rows and
 * compares join pairs in loops that never call back into us; the counters are where the
 * query's budget sees them, counts them (maxRows, maxJoinPairs) and checks its time.
 */
export async function executeWithin(
  statement: Statement,
  tables: Record<string, AsyncDataSource>,
  functions: Record<string, UserDefinedFunction>,
  budget: QueryBudget,
): Promise<Record<string, SqlPrimitive>[]> {
  const ctePlans = new Map<string, QueryPlan>()
  const cteColumns = new Map<string, string[]>()
  const plan = planSql({ query: statement, functions, tables, ctePlans, cteColumns })
  const all: Record<string, AsyncDataSource> = { ...tables }
  const scope = scopeOf(statement)
  const context: ExecuteContext = { tables: all, functions, ctePlans, cteColumns, ...(scope ? { scope } : {}) }
  let edges = 0
  // An edge becomes a scan of a table no SQL text can name, whose rows are the subtree's.
  const through = (child: QueryPlan, edge: Edge): QueryPlan => {
    const inner = bound(child)
    const table = `\u0000edge${edges++}`
    let columns: string[] = []
    all[table] = {
      get columns() {
        return columns
      },
      scan() {
        const results = executePlan({ plan: inner, context })
        columns = results.columns
        return { appliedWhere: true, appliedLimitOffset: true, rows: () => counted(results.rows(), edge, budget) }
      },
    }
    return { type: 'Scan', table, hints: {} }
  }
  const bound = (node: QueryPlan): QueryPlan => {
    switch (node.type) {
      case 'Sort': case 'HashAggregate': case 'ScalarAggregate': case 'Distinct':
        return { ...node, child: through(node.child, { held: true }) }
      case 'Window': {
        // OVER () with no partition or order streams; anything else buffers every row.
        const streams = node.windows.every(w => w.partitionBy.length === 0 && w.orderBy.length === 0)
        return { ...node, child: through(node.child, { held: !streams }) }
      }
      case 'Filter': case 'Project': case 'Limit':
        return { ...node, child: bound(node.child) }
      case 'SetOperation': {
        const held = !(node.operator === 'UNION' && node.all)
        return { ...node, left: through(node.left, { held }), right: through(node.right, { held }) }
      }
      case 'PositionalJoin':
        return { ...node, left: through(node.left, { held: true }), right: through(node.right, { held: true }) }
      case 'HashJoin':
        return { ...node, left: through(node.left, { held: false }), right: through(node.right, { held: true }) }
      case 'NestedLoopJoin': {
        // A lateral join runs its right side once per left row, in a context of its own: left as it is.
        if (node.lateral) return { ...node, left: through(node.left, { held: false }) }
        // The right side is buffered whole before the first left row; each left row is compared with all of it.
        const right = { n: 0 }
        return {
          ...node,
          left: through(node.left, { held: false, pairs: () => right.n }),
          right: through(node.right, { held: true, count: right }),
        }
      }
      default:
        return node
    }
  }
  const results = executePlan({ plan: bound(plan), context })
  // The result is held too: it is returned as one array.
  return collect({ ...results, rows: () => counted(results.rows(), { held: true }, budget) })
}

async function* counted(rows: AsyncIterable<AsyncRow>, edge: Edge, budget: QueryBudget): AsyncGenerator<AsyncRow> {
  if (edge.count) edge.count.n = 0
  for await (const row of rows) {
    budget.check()
    if (edge.held) budget.hold()
    if (edge.count) edge.count.n++
    // Counted before the join compares them, so a join past the limit stops before its work.
    if (edge.pairs) budget.compare(edge.pairs())
    yield row
  }
}

/** The aliases a statement's FROM and JOINs bring into scope, for correlated subqueries (as the engine does). */
function scopeOf(statement: Statement): string[] | undefined {
  if (statement.type === 'with') return scopeOf(statement.query)
  if (statement.type === 'compound') return undefined
  const { from } = statement
  const unaliased = from.type === 'table' ? from.table
    : from.type === 'function' ? from.funcName.toLowerCase()
    : 'table'
  const name = from.alias ?? unaliased
  return [name, ...statement.joins.map(j => j.alias ?? j.table)]
}
