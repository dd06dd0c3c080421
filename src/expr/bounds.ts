import type { Filter } from './filter.js'
import { compareSame, norm } from './values.js'

/** What a filter requires of one field, as far as pruning can use it. */
export interface Bounds {
  /** The field must equal one of these (Dates as epoch ms). */
  eq?: unknown[]
  min?: { value: unknown; inclusive: boolean }
  max?: { value: unknown; inclusive: boolean }
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date
}

/**
 * The per-field bounds a filter implies through its top-level conjunction (and nested
 * `$and`s). Conservative: anything it cannot read ($or, $regex, $ne, $expr...) adds no
 * bound, so pruning by these never drops a row the filter would keep.
 */
export function extractBounds(filter: Filter | undefined): Map<string, Bounds> {
  const out = new Map<string, Bounds>()
  if (filter) collect(filter, out)
  return out
}

function bound(out: Map<string, Bounds>, path: string): Bounds {
  let b = out.get(path)
  if (!b) out.set(path, (b = {}))
  return b
}

function collect(filter: Filter, out: Map<string, Bounds>): void {
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(cond)) { for (const f of cond) collect(f as Filter, out); continue }
    if (key.startsWith('$') || cond === undefined) continue
    if (isScalar(cond)) { narrowEq(bound(out, key), [norm(cond)]); continue }
    if (cond === null || typeof cond !== 'object' || Array.isArray(cond) || cond instanceof RegExp) continue
    for (const [op, arg] of Object.entries(cond as Record<string, unknown>)) {
      if (op === '$eq' && isScalar(arg)) narrowEq(bound(out, key), [norm(arg)])
      else if (op === '$in' && Array.isArray(arg) && arg.length && arg.every(isScalar)) {
        narrowEq(bound(out, key), arg.map(norm))
      }
      else if ((op === '$gt' || op === '$gte') && isScalar(arg)) narrowMin(bound(out, key), norm(arg), op === '$gte')
      else if ((op === '$lt' || op === '$lte') && isScalar(arg)) narrowMax(bound(out, key), norm(arg), op === '$lte')
    }
  }
}

/** Equal values share a key (compareSame gives 0 exactly when the keys are equal; NaN equals nothing). */
function eqKey(v: unknown): unknown {
  return typeof v === 'number' && Number.isNaN(v) ? undefined : v
}

function narrowEq(b: Bounds, values: unknown[]): void {
  if (!b.eq) {
    b.eq = values
    return
  }
  // A Set, not a nested scan: two $in lists of 100,000 values each would be 10^10 comparisons.
  const keys = new Set(values.map(eqKey))
  keys.delete(undefined)
  b.eq = b.eq.filter(v => keys.has(eqKey(v)))
}

function narrowMin(b: Bounds, value: unknown, inclusive: boolean): void {
  const c = b.min ? compareSame(value, b.min.value) : 1
  if (c === null) return
  if (c > 0 || (c === 0 && !inclusive)) b.min = { value, inclusive }
}

function narrowMax(b: Bounds, value: unknown, inclusive: boolean): void {
  const c = b.max ? compareSame(value, b.max.value) : -1
  if (c === null) return
  if (c < 0 || (c === 0 && !inclusive)) b.max = { value, inclusive }
}

/**
 * Can a file or row group whose column spans [min, max] hold a row within the bounds?
 * `min === null` means the column is all null there. Values of another type than the
 * statistics keep the file (never a wrong prune).
 */
export function mayMatch(b: Bounds, min: unknown, max: unknown): boolean {
  if (min === null || min === undefined || max === null || max === undefined) {
    // All null: no value can satisfy an equality or a range.
    return !(b.eq || b.min || b.max) || (min === undefined && max === undefined)
  }
  if (b.eq) {
    if (b.eq.length === 0) return false
    if (!eqHits(b.eq, min, max)) return false
  }
  if (b.min) {
    const c = compareSame(max, b.min.value)
    if (c !== null && (c < 0 || (c === 0 && !b.min.inclusive))) return false
  }
  if (b.max) {
    const c = compareSame(min, b.max.value)
    if (c !== null && (c > 0 || (c === 0 && !b.max.inclusive))) return false
  }
  return true
}

/** The eq values sorted by type, built once per list: a file or row group then costs a binary search. */
interface EqIndex {
  types: Set<string>
  sorted: Map<string, unknown[]>
}

const eqIndexes = new WeakMap<unknown[], EqIndex>()

function eqIndex(eq: unknown[]): EqIndex {
  let ix = eqIndexes.get(eq)
  if (ix) return ix
  ix = { types: new Set(), sorted: new Map() }
  for (const raw of eq) {
    const v = norm(raw)
    const t = typeof v
    ix.types.add(t)
    if (t !== 'number' && t !== 'string' && t !== 'boolean') continue
    if (t === 'number' && Number.isNaN(v)) continue // equals nothing, so it never keeps a file
    let list = ix.sorted.get(t)
    if (!list) ix.sorted.set(t, (list = []))
    list.push(v)
  }
  for (const list of ix.sorted.values()) list.sort((x, y) => compareSame(x, y)!)
  eqIndexes.set(eq, ix)
  return ix
}

/** Is some eq value within [min, max]? A value of another type than the statistics keeps the file. */
function eqHits(eq: unknown[], rawMin: unknown, rawMax: unknown): boolean {
  const min = norm(rawMin)
  const max = norm(rawMax)
  const t = typeof min
  if (typeof max !== t || (t !== 'number' && t !== 'string' && t !== 'boolean')) {
    return eq.some(v => {
      const lo = compareSame(v, min)
      const hi = compareSame(v, max)
      return lo === null || hi === null || (lo >= 0 && hi <= 0)
    })
  }
  const ix = eqIndex(eq)
  if (ix.types.size > 1 || !ix.types.has(t)) return true // some value cannot be compared with the statistics
  const list = ix.sorted.get(t) ?? []
  // The first value >= min, then whether it is <= max.
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareSame(list[mid], min)! < 0) lo = mid + 1
    else hi = mid
  }
  return lo < list.length && compareSame(list[lo], max)! <= 0
}

/** The [from, to) time range bounds on a timestamp field imply (ms), for partition pruning. */
export function timeRange(b: Bounds | undefined): { from?: number; to?: number } {
  if (!b) return {}
  const r: { from?: number; to?: number } = {}
  if (b.eq) {
    const nums = b.eq.filter((v): v is number => typeof v === 'number')
    if (nums.length === b.eq.length) {
      if (!nums.length) return { from: 0, to: 0 }
      // A loop, not Math.min(...nums): spreading a long $in list overflows the call stack.
      let lo = Infinity
      let hi = -Infinity
      for (const n of nums) {
        if (n < lo) lo = n
        if (n > hi) hi = n
      }
      if (lo > hi) return { from: 0, to: 0 } // only NaN, which equals nothing
      r.from = lo
      r.to = hi + 1
    }
  }
  if (b.min && typeof b.min.value === 'number') {
    const from = b.min.inclusive ? b.min.value : Math.floor(b.min.value) + 1
    r.from = r.from === undefined ? from : Math.max(r.from, from)
  }
  if (b.max && typeof b.max.value === 'number') {
    const to = b.max.inclusive ? Math.floor(b.max.value) + 1 : b.max.value
    r.to = r.to === undefined ? to : Math.min(r.to, to)
  }
  return r
}
