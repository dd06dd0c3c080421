import { canonicalJson } from '../expr/index.js'
import type { StoredRow } from '../schema/index.js'
import { type AggregateState, addValue, finalize, initState, mergeState } from './aggregates.js'
import { HIDDEN_TIME, type ViewPlan } from './view_plan.js'

type Aggregate = NonNullable<ViewPlan['aggregate']>

/** Group identity: sorted-key JSON, so an object key reads the same from the WAL and from Parquet. */
function keyOf(values: unknown[]): string {
  return canonicalJson(values)
}

/**
 * Groups input rows and folds them into one state row per group: the group keys, a
 * partial state per aggregate, and (for views without a time bucket) a constant hidden
 * time, so all their groups share one partition.
 */
export function foldRows(agg: Aggregate, rows: Iterable<StoredRow>): StoredRow[] {
  const groups = new Map<string, { keys: unknown[]; states: AggregateState[] }>()
  for (const row of rows) {
    const keys = agg.keys.map(k => {
      const v = k.value(row)
      return v === undefined ? null : v instanceof Date ? v.getTime() : v
    })
    const id = keyOf(keys)
    let g = groups.get(id)
    if (!g) groups.set(id, (g = { keys, states: agg.computes.map(initState) }))
    for (let i = 0; i < agg.computes.length; i++) g.states[i] = addValue(agg.computes[i]!, g.states[i]!, row)
  }
  return [...groups.values()].map(g => toStateRow(agg, g.keys, g.states))
}

/** Combines state rows that share group keys (from several files, or files plus the WAL tail). */
export function mergeStateRows(agg: Aggregate, rows: Iterable<StoredRow>): StoredRow[] {
  const groups = new Map<string, { keys: unknown[]; states: AggregateState[] }>()
  for (const row of rows) {
    const keys = agg.keys.map(k => row[k.name] ?? null)
    const id = keyOf(keys)
    // A state missing from an older file (the aggregate was added since) starts empty.
    const states = agg.computes.map(c => (row[c.name] ?? initState(c)) as AggregateState)
    const g = groups.get(id)
    if (!g) groups.set(id, { keys, states })
    else g.states = g.states.map((s, i) => mergeState(agg.computes[i]!, s, states[i]!))
  }
  return [...groups.values()].map(g => toStateRow(agg, g.keys, g.states))
}

function toStateRow(agg: Aggregate, keys: unknown[], states: AggregateState[]): StoredRow {
  const row: StoredRow = {}
  agg.keys.forEach((k, i) => { row[k.name] = keys[i] })
  agg.computes.forEach((c, i) => { row[c.name] = states[i] })
  if (!agg.keys.some(k => k.bucket)) row[HIDDEN_TIME] = 0
  return row
}

/** State rows → the rows readers see: keys and finalized aggregate values. */
export function finalizeRow(agg: Aggregate, row: StoredRow): StoredRow {
  const out: StoredRow = {}
  for (const k of agg.keys) out[k.name] = row[k.name] ?? null
  for (const c of agg.computes) out[c.name] = finalize(c, (row[c.name] ?? initState(c)) as AggregateState)
  if (HIDDEN_TIME in row) out[HIDDEN_TIME] = row[HIDDEN_TIME]
  return out
}
