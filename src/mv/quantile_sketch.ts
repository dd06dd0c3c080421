/**
 * A DDSketch (Masson, Rim & Lee, VLDB 2019): values fall into logarithmic buckets
 * with relative width 2α, so any quantile comes back within α relative error of a true
 * sample value, and two sketches merge by adding bucket counts — exact under merging,
 * which is what incremental view maintenance needs. Zero and negatives are counted apart.
 *
 * Stored as it is in a percentile state (aggregate state format 1, docs/formats.md). Bucket
 * indexes mean something only with RELATIVE_ACCURACY and MIN_VALUE: changing either (or a key)
 * needs a new format version, or stored sketches would answer with other values.
 */
export interface QuantileSketch {
  /** bucket index i → how many positive values fell in (γ^(i−1), γ^i] */
  b: Record<string, number>
  /** how many values were within MIN_VALUE of zero */
  z: number
  /** bucket index i → how many negative values had their magnitude in (γ^(i−1), γ^i] */
  n: Record<string, number>
  /** every value counted: the sum of b, z and n */
  count: number
}

/** α: the relative error of a quantile; γ = (1 + α) / (1 − α) is the buckets' growth factor. */
export const RELATIVE_ACCURACY = 0.01
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
const LOG_GAMMA = Math.log(GAMMA)
/** Values smaller in magnitude than this count as zero. */
const MIN_VALUE = 1e-9

export function emptySketch(): QuantileSketch {
  return { b: {}, z: 0, n: {}, count: 0 }
}

function index(v: number): number {
  return Math.ceil(Math.log(v) / LOG_GAMMA)
}

/** The representative value of a bucket: within α of every value in it. */
function value(i: number): number {
  return (2 * GAMMA ** i) / (GAMMA + 1)
}

export function addToSketch(s: QuantileSketch, v: number): void {
  if (!Number.isFinite(v)) return
  s.count++
  if (Math.abs(v) < MIN_VALUE) { s.z++; return }
  const map = v > 0 ? s.b : s.n
  const k = String(index(Math.abs(v)))
  map[k] = (map[k] ?? 0) + 1
}

export function mergeSketches(into: QuantileSketch, from: QuantileSketch): QuantileSketch {
  into.count += from.count
  into.z += from.z
  for (const [k, c] of Object.entries(from.b)) into.b[k] = (into.b[k] ?? 0) + c
  for (const [k, c] of Object.entries(from.n)) into.n[k] = (into.n[k] ?? 0) + c
  return into
}

/** The q-quantile (0..1), by the lower-rank convention: the value at rank ⌊q·(n−1)⌋. */
export function sketchQuantile(s: QuantileSketch, q: number): number | null {
  if (s.count === 0) return null
  const rank = Math.floor(q * (s.count - 1))
  const neg = Object.entries(s.n).map(([k, c]) => [Number(k), c] as const).sort((a, b) => b[0] - a[0])
  const pos = Object.entries(s.b).map(([k, c]) => [Number(k), c] as const).sort((a, b) => a[0] - b[0])
  let seen = 0
  for (const [k, c] of neg) { seen += c; if (seen > rank) return -value(k) }
  seen += s.z
  if (seen > rank) return 0
  for (const [k, c] of pos) { seen += c; if (seen > rank) return value(k) }
  return pos.length ? value(pos[pos.length - 1]![0]) : 0
}
