import type { Eval } from './expression.js'

/** Row positions that passed the WHERE, and the group each belongs to (parallel arrays). */
export interface Selection {
  rows: Int32Array
  groups: Int32Array
  length: number
}

export type Cols = ArrayLike<unknown>[]

/**
 * One aggregate of the query, one state per group, kept in arrays indexed by group id: memory
 * grows with the groups, not the rows (exact COUNT(DISTINCT) keeps each group's distinct
 * values, MEDIAN and PERCENTILE_CONT each group's non-null values). Each follows the row
 * engine: NULLs are skipped, SUM and AVG add `Number(v)` when it is finite and are NULL over
 * no values, MIN and MAX compare with `<` and `>`.
 */
export interface Accumulator {
  /** Makes room for groups up to `count`. */
  grow(count: number): void
  update(cols: Cols, sel: Selection): void
  result(group: number): unknown
}

export type AggregateKind = 'countStar' | 'count' | 'countDistinct' | 'sum' | 'avg' | 'min' | 'max' | 'quantile'

export interface AggregateSpec {
  kind: AggregateKind
  arg?: Eval<Cols>
  /** `FILTER (WHERE ...)`: rows for which it is not truthy are left out. */
  filter?: Eval<Cols>
  /** MEDIAN is 0.5; PERCENTILE_CONT's fraction, a constant in [0, 1]. */
  fraction?: number
}

export function makeAccumulator(spec: AggregateSpec): Accumulator {
  switch (spec.kind) {
    case 'countStar': case 'count': return counter(spec)
    case 'countDistinct': return distinct(spec)
    case 'sum': case 'avg': return summer(spec, spec.kind === 'avg')
    case 'min': case 'max': return extreme(spec, spec.kind === 'max')
    case 'quantile': return quantile(spec)
  }
}

/** Calls `f(group, value)` for each selected row that passes the filter (and, with an argument, is not NULL). */
function each(spec: AggregateSpec, cols: Cols, sel: Selection, f: (g: number, v: unknown) => void): void {
  const { rows, groups, length } = sel
  const { arg, filter } = spec
  for (let k = 0; k < length; k++) {
    const i = rows[k]!
    if (filter && !filter(cols, i)) continue
    if (!arg) { f(groups[k]!, null); continue }
    const v = arg(cols, i)
    if (v != null) f(groups[k]!, v)
  }
}

function counter(spec: AggregateSpec): Accumulator {
  let counts = new Float64Array(16)
  return {
    grow(n) {
      if (n <= counts.length) return
      const c = new Float64Array(Math.max(n, counts.length * 2))
      c.set(counts)
      counts = c
    },
    update(cols, sel) {
      if (!spec.arg && !spec.filter) {
        for (let k = 0; k < sel.length; k++) counts[sel.groups[k]!]!++
        return
      }
      each(spec, cols, sel, g => { counts[g]!++ })
    },
    result: g => counts[g]!,
  }
}

function distinct(spec: AggregateSpec): Accumulator {
  const sets: Set<unknown>[] = []
  return {
    grow(n) { while (sets.length < n) sets.push(new Set()) },
    update(cols, sel) { each(spec, cols, sel, (g, v) => { sets[g]!.add(v) }) },
    result: g => sets[g]!.size,
  }
}

function summer(spec: AggregateSpec, average: boolean): Accumulator {
  const sums: number[] = []
  const counts: number[] = []
  return {
    grow(n) { while (sums.length < n) { sums.push(0); counts.push(0) } },
    update(cols, sel) {
      each(spec, cols, sel, (g, v) => {
        const x = Number(v)
        if (!Number.isFinite(x)) return
        sums[g]! += x
        counts[g]!++
      })
    },
    result: g => (counts[g] === 0 ? null : average ? sums[g]! / counts[g]! : sums[g]!),
  }
}

function extreme(spec: AggregateSpec, max: boolean): Accumulator {
  const best: unknown[] = []
  return {
    grow(n) { while (best.length < n) best.push(null) },
    update(cols, sel) {
      each(spec, cols, sel, (g, v) => {
        const b = best[g]
        if (b === null || (max ? (v as number) > (b as number) : (v as number) < (b as number))) best[g] = v
      })
    },
    result: g => best[g],
  }
}

/** Exact, as DuckDB's quantile_cont: sort, then interpolate between the two nearest ranks. */
function quantile(spec: AggregateSpec): Accumulator {
  const values: number[][] = []
  const fraction = spec.fraction!
  return {
    grow(n) { while (values.length < n) values.push([]) },
    update(cols, sel) {
      each(spec, cols, sel, (g, v) => {
        const x = Number(v)
        if (Number.isFinite(x)) values[g]!.push(x)
      })
    },
    result(g) {
      const vs = Float64Array.from(values[g]!).sort()
      if (vs.length === 0) return null
      const pos = fraction * (vs.length - 1)
      const lo = Math.floor(pos)
      const hi = Math.ceil(pos)
      return lo === hi ? vs[lo]! : vs[lo]! + (vs[hi]! - vs[lo]!) * (pos - lo)
    },
  }
}
