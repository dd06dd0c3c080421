/**
 * The Overview page's numbers: requests, errors and wall-time percentiles per time bucket and per
 * script, folded from the rows of one time-bounded read. Pure: the caller streams the rows in.
 */
export interface OverviewRow {
  scriptName: string | null
  outcome: string
  eventTimestamp: Date
  wallTime: number | null
}

export interface Series {
  requests: number[]
  /** Invocations whose outcome is not `ok` (the spec's definition of an error). */
  errors: number[]
  p50: (number | null)[]
  p95: (number | null)[]
  p99: (number | null)[]
}

export interface ScriptSummary {
  requests: number
  errors: number
  errorRate: number
  p50: number | null
  p95: number | null
  p99: number | null
}

export interface Overview {
  from: number
  to: number
  bucketMs: number
  /** Start of each bucket, epoch ms. */
  times: number[]
  total: Series
  scripts: Record<string, Series>
  summary: Record<string, ScriptSummary>
  /** True when some bucket kept a sample of its wall times (percentiles are then estimates). */
  sampled: boolean
}

/** Buckets per chart: enough for a smooth line, few enough to draw and send. */
export const MAX_BUCKETS = 240
/** Wall times kept per bucket and script; past it a uniform sample of this size is kept. */
export const SAMPLE_PER_BUCKET = 1000
const STEPS = [60_000, 300_000, 900_000, 3_600_000, 6 * 3_600_000, 86_400_000]

/** The smallest of 1 min, 5 min, 15 min, 1 h, 6 h, 1 day giving at most MAX_BUCKETS buckets. */
export function bucketFor(from: number, to: number): number {
  return STEPS.find(s => (to - from) / s <= MAX_BUCKETS) ?? STEPS[STEPS.length - 1]!
}

/** The name shown for events whose scriptName is empty (locally, wrangler dev leaves it null). */
export const UNNAMED_SCRIPT = '(unnamed)'

interface Cell {
  requests: number
  errors: number
  walls: number[]
  seen: number
}

export class OverviewBuilder {
  readonly bucketMs: number
  private readonly n: number
  private readonly cells = new Map<string, Cell[]>()
  private sampled = false
  private seed = 0x9e3779b9

  constructor(readonly from: number, readonly to: number, bucketMs = bucketFor(from, to)) {
    this.bucketMs = bucketMs
    this.n = Math.max(1, Math.ceil((to - from) / bucketMs))
  }

  add(row: OverviewRow): void {
    const t = row.eventTimestamp.getTime()
    if (t < this.from || t >= this.to) return
    const i = Math.floor((t - this.from) / this.bucketMs)
    const name = row.scriptName || UNNAMED_SCRIPT
    let cells = this.cells.get(name)
    if (!cells) {
      cells = Array.from({ length: this.n }, () => ({ requests: 0, errors: 0, walls: [], seen: 0 }))
      this.cells.set(name, cells)
    }
    const c = cells[i]!
    c.requests++
    if (row.outcome !== 'ok') c.errors++
    if (typeof row.wallTime === 'number') this.keep(c, row.wallTime)
  }

  /** Reservoir sampling: every wall time of the bucket is kept with the same chance. */
  private keep(c: Cell, wall: number): void {
    c.seen++
    if (c.walls.length < SAMPLE_PER_BUCKET) { c.walls.push(wall); return }
    this.sampled = true
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0
    const j = this.seed % c.seen
    if (j < SAMPLE_PER_BUCKET) c.walls[j] = wall
  }

  result(): Overview {
    const times = Array.from({ length: this.n }, (_, i) => this.from + i * this.bucketMs)
    const scripts: Record<string, Series> = {}
    const summary: Record<string, ScriptSummary> = {}
    const all: Cell[] = times.map(() => ({ requests: 0, errors: 0, walls: [], seen: 0 }))
    const names = [...this.cells.keys()].sort()
    for (const name of names) {
      const cells = this.cells.get(name)!
      scripts[name] = series(cells)
      cells.forEach((c, i) => {
        const a = all[i]!
        a.requests += c.requests
        a.errors += c.errors
        for (const w of c.walls) a.walls.push(w)
      })
      summary[name] = summarize(cells)
    }
    return {
      from: this.from, to: this.to, bucketMs: this.bucketMs, times, total: series(all), scripts, summary,
      sampled: this.sampled,
    }
  }
}

function series(cells: readonly Cell[]): Series {
  const out: Series = { requests: [], errors: [], p50: [], p95: [], p99: [] }
  for (const c of cells) {
    out.requests.push(c.requests)
    out.errors.push(c.errors)
    const sorted = Float64Array.from(c.walls).sort()
    out.p50.push(quantile(sorted, 0.5))
    out.p95.push(quantile(sorted, 0.95))
    out.p99.push(quantile(sorted, 0.99))
  }
  return out
}

function summarize(cells: readonly Cell[]): ScriptSummary {
  let requests = 0
  let errors = 0
  const walls: number[] = []
  for (const c of cells) {
    requests += c.requests
    errors += c.errors
    for (const w of c.walls) walls.push(w)
  }
  const sorted = Float64Array.from(walls).sort()
  return {
    requests, errors, errorRate: requests ? errors / requests : 0,
    p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99),
  }
}

/** The nearest-rank quantile of sorted values; null when there are none. */
export function quantile(sorted: ArrayLike<number>, q: number): number | null {
  if (!sorted.length) return null
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}
