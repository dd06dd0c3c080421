import { type Evaluator, canonicalJson, compareTotal } from '../expr/index.js'
import { type QuantileSketch, addToSketch, emptySketch, mergeSketches, sketchQuantile } from './quantile_sketch.js'

export type AggregateKind = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'countDistinct' | 'percentile'

export interface AggregateSpec {
  name: string
  kind: AggregateKind
  /** The value aggregated; absent for `$count: '*'`. */
  arg?: Evaluator
  /** For percentile: 0..1. */
  p?: number
}

/**
 * Partial aggregate states: plain JSON, stored in view files and merged by addition, so
 * a view is maintained incrementally from each batch (LSM-style: files of partial states,
 * combined when read and when merged). countDistinct keeps the exact set of values;
 * percentile keeps a DDSketch with 1% relative error.
 *
 * These are also the stored layout, aggregate state format 1 (docs/formats.md): the short
 * names are on disk in every view file written so far. Change a layout only by adding a
 * format version (state_format.ts), so the files already stored still read.
 */
export type AggregateState =
  | number // count: rows counted
  | { s: number; n: number } // sum, avg: s the sum of the numeric values, n how many there were
  | { v: unknown } // min, max: v the least / greatest value so far (a Date as ms), null before any
  | { d: string[] } // countDistinct: d the distinct values, canonical JSON, sorted
  | QuantileSketch // percentile

export function initState(spec: AggregateSpec): AggregateState {
  switch (spec.kind) {
    case 'count': return 0
    case 'sum': case 'avg': return { s: 0, n: 0 }
    case 'min': case 'max': return { v: null }
    case 'countDistinct': return { d: [] }
    case 'percentile': return emptySketch()
  }
}

const numeric = (v: unknown): number | null => {
  const x = v instanceof Date ? v.getTime() : v
  return typeof x === 'number' && Number.isFinite(x) ? x : null
}

/** Folds one input row's value into a state (mutating it where it can). */
export function addValue(spec: AggregateSpec, state: AggregateState, row: Record<string, unknown>): AggregateState {
  if (spec.kind === 'count') {
    if (!spec.arg) return (state as number) + 1
    const v = spec.arg(row)
    return v === null || v === undefined ? state : (state as number) + 1
  }
  const v = spec.arg!(row)
  switch (spec.kind) {
    case 'sum': case 'avg': {
      const x = numeric(v)
      const st = state as { s: number; n: number }
      if (x !== null) { st.s += x; st.n++ }
      return st
    }
    case 'min': case 'max': {
      if (v === null || v === undefined) return state
      const st = state as { v: unknown }
      const c = st.v === null ? 0 : compareTotal(v, st.v)
      if (st.v === null || (spec.kind === 'min' ? c < 0 : c > 0)) st.v = v instanceof Date ? v.getTime() : v
      return st
    }
    case 'countDistinct': {
      if (v === null || v === undefined) return state
      const st = state as { d: string[] }
      insertSorted(st.d, canonicalJson(v))
      return st
    }
    case 'percentile': {
      const x = numeric(v)
      if (x !== null) addToSketch(state as QuantileSketch, x)
      return state
    }
  }
  return state
}

export function mergeState(spec: AggregateSpec, a: AggregateState, b: AggregateState): AggregateState {
  switch (spec.kind) {
    case 'count': return (a as number) + (b as number)
    case 'sum': case 'avg': {
      const x = a as { s: number; n: number }
      const y = b as { s: number; n: number }
      return { s: x.s + y.s, n: x.n + y.n }
    }
    case 'min': case 'max': {
      const x = (a as { v: unknown }).v
      const y = (b as { v: unknown }).v
      if (x === null) return { v: y }
      if (y === null) return { v: x }
      const c = compareTotal(x, y)
      return { v: spec.kind === 'min' ? (c <= 0 ? x : y) : (c >= 0 ? x : y) }
    }
    case 'countDistinct': {
      const out = [...(a as { d: string[] }).d]
      for (const v of (b as { d: string[] }).d) insertSorted(out, v)
      return { d: out }
    }
    case 'percentile':
      return mergeSketches(structuredClone(a as QuantileSketch), b as QuantileSketch)
  }
}

/** The value a reader sees. */
export function finalize(spec: AggregateSpec, state: AggregateState): unknown {
  switch (spec.kind) {
    case 'count': return state as number
    case 'sum': return (state as { s: number }).s
    case 'avg': {
      const st = state as { s: number; n: number }
      return st.n ? st.s / st.n : null
    }
    case 'min': case 'max': return (state as { v: unknown }).v
    case 'countDistinct': return (state as { d: string[] }).d.length
    case 'percentile': return sketchQuantile(state as QuantileSketch, spec.p!)
  }
}

function insertSorted(list: string[], v: string): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (list[mid]! < v) lo = mid + 1
    else hi = mid
  }
  if (list[lo] !== v) list.splice(lo, 0, v)
}
