import type { StoredRow } from '../schema/index.js'
import { foldRows } from './grouping.js'
import type { ViewPlan } from './view_plan.js'

/**
 * Root-collection rows → this view's stored rows, through every view of its chain
 * (WorkerRequests → EndpointMetrics: rows, then partial states). Reads use it on the
 * WAL tail, so a view shows what was written a moment ago, as its files would.
 */
export function chainTransform(plan: ViewPlan, plans: readonly ViewPlan[]): (rows: StoredRow[]) => StoredRow[] {
  const steps = plan.chain.map(name => plans.find(p => p.name === name)!)
  return rows => {
    let cur = rows
    for (const step of steps) {
      const next: StoredRow[] = []
      for (const r of cur) for (const d of step.rowsFrom(r)) next.push(d)
      cur = next
    }
    return plan.aggregate ? foldRows(plan.aggregate, cur) : cur
  }
}
