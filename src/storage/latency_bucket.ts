import type {
  Bucket, BucketListOptions, BucketListResult, BucketObject, BucketObjectBody, BucketPutOptions, BucketRange,
} from './bucket.js'

/** The request kinds R2 answers, each with its own latency distribution. */
export type LatencyOpKind = 'get' | 'head' | 'put' | 'list' | 'delete'

/**
 * How long one request of a kind takes, in milliseconds:
 * - `{ ms }`: always `ms`; with `jitterMs`, uniform in [ms - jitterMs, ms + jitterMs] (never below 0);
 * - `{ medianMs, p99Ms }`: log-normal with that median and 99th percentile (the long tail of a real
 *   store); `p99Ms` defaults to 5 × the median. Draws are capped at `maxMs` (default 10 × p99).
 */
export type LatencySpec =
  | { ms: number; jitterMs?: number }
  | { medianMs: number; p99Ms?: number; maxMs?: number }

/**
 * R2 as seen from a Worker in the same region, per request. ASSUMPTIONS, not measurements of ours:
 * Cloudflare publishes no per-operation latency table; these follow what public reports and our
 * reading of them say (tens of ms to first byte, writes slower than reads, a tail several times the
 * median). Measure your own account and pass your numbers as `latency`.
 */
export const R2_LATENCY: Readonly<Record<LatencyOpKind, LatencySpec>> = Object.freeze({
  get: { medianMs: 25, p99Ms: 150 },
  head: { medianMs: 20, p99Ms: 120 },
  put: { medianMs: 60, p99Ms: 400 },
  list: { medianMs: 40, p99Ms: 250 },
  delete: { medianMs: 30, p99Ms: 200 },
})

export interface LatencyBucketOptions {
  /** Seeds every draw; the n-th request of a kind gets the same latency on every run. Default 1. */
  seed?: number
  /** Overrides per kind; kinds not given keep `R2_LATENCY`. */
  latency?: Partial<Record<LatencyOpKind, LatencySpec>>
  /** Multiplies every drawn latency (0.01 makes tests fast; 0 adds none). Default 1. */
  scale?: number
  /**
   * Whether a request may complete before one issued earlier (default true, as on R2: the latency
   * drawn is what reorders them). With false, each request also waits for those issued before it
   * to settle, so completions come in issue order (requests still overlap).
   */
  reorder?: boolean
  /** Keep `log`, one entry per completed request in completion order (off by default: it grows). */
  record?: boolean
  /**
   * How many requests may wait for their answer at once; the others queue (first in, first out)
   * until one is answered, and their latency starts then. Default unlimited (Node, the CLI). A Worker
   * invocation allows 6 (`WORKER_CONNECTIONS`): R2 binding calls count toward its simultaneous-
   * connections limit while they wait for a response.
   */
  connections?: number
}

/** A Worker invocation's simultaneous open connections (requests waiting for a response). */
export const WORKER_CONNECTIONS = 6

/** One completed request, when `record` is on. */
export interface LatencyLogEntry {
  /** Issue order, from 0, across all kinds. */
  seq: number
  kind: LatencyOpKind
  /** The key (the first key of a multi-key delete, the prefix of a list). */
  key: string
  /** The latency added, after `scale`. */
  ms: number
  ok: boolean
}

export interface LatencyCounts {
  get: number
  head: number
  put: number
  list: number
  /** Requests, not keys: a `delete([...])` of many keys is one request (see `deletedKeys`). */
  delete: number
  deletedKeys: number
}

/**
 * Wraps any bucket and makes each request take as long as it would on R2, so what a user on R2
 * will feel (requests one after another, or many in flight) shows in tests and the bench.
 *
 * Each request draws its latency from a seeded distribution for its kind, waits a seeded fraction
 * of it (the way there), performs the inner operation, then waits the rest (the way back). So the
 * inner effect happens after the call and before the promise settles, at a point that varies, as
 * on R2: a put is visible to every request issued after it resolves, and never before it was called.
 * Results and errors pass through unchanged (the same objects the inner bucket returns).
 *
 * Counts requests per kind, the number in flight now and the most ever in flight at once.
 * Timers exist only while requests are in flight; `idle()` resolves when none are.
 */
export class LatencyBucket implements Bucket {
  readonly ops: LatencyCounts = { get: 0, head: 0, put: 0, list: 0, delete: 0, deletedKeys: 0 }
  /** Requests issued and not yet settled. */
  inFlight = 0
  /** The most requests ever in flight at once (since construction or `resetCounts()`). */
  maxInFlight = 0
  /** Of those in flight, how many are queued behind `connections` now. */
  queued = 0
  /** The most requests ever waiting for their answer at once (≤ `connections`). */
  maxConnected = 0
  /** Sum of the latencies added, in ms (after `scale`): the wall time if every request ran alone. */
  totalLatencyMs = 0
  /** Completed requests in completion order; empty unless `record` is on. */
  readonly log: LatencyLogEntry[] = []

  private readonly specs: Record<LatencyOpKind, LatencySpec>
  private readonly rngs: Record<LatencyOpKind, () => number>
  private readonly scale: number
  private readonly reorder: boolean
  private readonly record: boolean
  private seq = 0
  private lastDone: Promise<unknown> = Promise.resolve()
  private idleWaiters: (() => void)[] = []
  private readonly connections: number
  private open = 0
  private slotWaiters: (() => void)[] = []

  constructor(readonly inner: Bucket, options: LatencyBucketOptions = {}) {
    this.specs = { ...R2_LATENCY, ...options.latency }
    for (const [kind, spec] of Object.entries(this.specs)) checkSpec(kind, spec)
    const seed = options.seed ?? 1
    const kinds: LatencyOpKind[] = ['get', 'head', 'put', 'list', 'delete']
    const rngs = kinds.map((k, i) => [k, mulberry32(mix(seed, i + 1))] as const)
    this.rngs = Object.fromEntries(rngs) as Record<LatencyOpKind, () => number>
    this.scale = options.scale ?? 1
    if (!(this.scale >= 0) || !Number.isFinite(this.scale)) {
      throw new RangeError(`LatencyBucket: scale must be a finite number ≥ 0, got ${options.scale}`)
    }
    this.reorder = options.reorder ?? true
    this.record = options.record ?? false
    this.connections = options.connections ?? Infinity
    if (!(this.connections >= 1)) {
      throw new RangeError(`LatencyBucket: connections must be ≥ 1, got ${options.connections}`)
    }
  }

  /**
   * The next latency for a kind (ms, after `scale`) and where in it the inner operation happens
   * (a fraction from 0 to 1). Each call consumes that kind's seeded sequence, as a request does.
   */
  draw(kind: LatencyOpKind): { ms: number; effectAt: number } {
    const rng = this.rngs[kind]
    const spec = this.specs[kind]
    let ms: number
    if ('ms' in spec) {
      const j = spec.jitterMs ?? 0
      ms = Math.max(0, spec.ms + (j ? (rng() * 2 - 1) * j : 0))
    } else {
      const p99 = spec.p99Ms ?? spec.medianMs * 5
      const sigma = Math.log(p99 / spec.medianMs) / Z99
      ms = Math.min(spec.medianMs * Math.exp(sigma * normal(rng)), spec.maxMs ?? p99 * 10)
    }
    return { ms: ms * this.scale, effectAt: rng() }
  }

  /** Zeroes the counts and the maximum in flight (the maximum restarts from what is in flight now). */
  resetCounts(): void {
    Object.assign(this.ops, { get: 0, head: 0, put: 0, list: 0, delete: 0, deletedKeys: 0 })
    this.maxInFlight = this.inFlight
    this.maxConnected = this.open
    this.totalLatencyMs = 0
    this.log.length = 0
  }

  /** Resolves once no request is in flight (at once if none is). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise(resolve => this.idleWaiters.push(resolve))
  }

  get(key: string, options?: { range?: BucketRange }): Promise<BucketObjectBody | null> {
    return this.request('get', key, () => this.inner.get(key, options))
  }
  head(key: string): Promise<BucketObject | null> {
    return this.request('head', key, () => this.inner.head(key))
  }
  put(
    key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions,
  ): Promise<BucketObject | null> {
    return this.request('put', key, () => this.inner.put(key, value, options))
  }
  list(options?: BucketListOptions): Promise<BucketListResult> {
    return this.request('list', options?.prefix ?? '', () => this.inner.list(options))
  }
  delete(keys: string | string[]): Promise<void> {
    this.ops.deletedKeys += Array.isArray(keys) ? keys.length : 1
    const first = Array.isArray(keys) ? (keys[0] ?? '') : keys
    return this.request('delete', first, () => this.inner.delete(keys))
  }

  private async request<T>(kind: LatencyOpKind, key: string, op: () => Promise<T>): Promise<T> {
    const seq = this.seq++
    this.ops[kind]++
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    const { ms, effectAt } = this.draw(kind)
    this.totalLatencyMs += ms
    const before = this.lastDone
    let ok = false
    const run = (async () => {
      await this.acquire()
      try {
        await sleep(ms * effectAt)
        const out = await op()
        await sleep(ms - ms * effectAt)
        ok = true
        return out
      } catch (err) {
        await sleep(ms - ms * effectAt)
        throw err
      } finally {
        this.release()
      }
    })()
    // In-order completion: this request settles no earlier than every request issued before it.
    const settled = run.then(() => undefined, () => undefined)
    if (!this.reorder) this.lastDone = Promise.all([before, settled])
    try {
      if (!this.reorder) await before
      return await run
    } finally {
      this.inFlight--
      if (this.record) this.log.push({ seq, kind, key, ms, ok })
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake()
    }
  }

  private acquire(): Promise<void> | void {
    if (this.open < this.connections) {
      this.open++
      this.maxConnected = Math.max(this.maxConnected, this.open)
      return
    }
    this.queued++
    return new Promise(resolve => this.slotWaiters.push(() => {
      this.queued--
      resolve()
    }))
  }

  /** Hands the slot to the next queued request, if any (so `open` stays the same), else frees it. */
  private release(): void {
    const next = this.slotWaiters.shift()
    if (next) next()
    else this.open--
  }
}

const Z99 = 2.3263478740408408 // the standard normal's 99th percentile

function checkSpec(kind: string, spec: LatencySpec): void {
  const bad = (why: string) =>
    new RangeError(`LatencyBucket: latency.${kind} ${why}: ${JSON.stringify(spec)}`)
  if ('ms' in spec) {
    if (!(spec.ms >= 0 && Number.isFinite(spec.ms))) throw bad('needs ms ≥ 0')
    const j = spec.jitterMs
    if (j !== undefined && !(j >= 0 && Number.isFinite(j))) throw bad('needs jitterMs ≥ 0')
  } else {
    if (!(spec.medianMs > 0 && Number.isFinite(spec.medianMs))) throw bad('needs medianMs > 0 (or { ms: 0 })')
    const p99 = spec.p99Ms
    if (p99 !== undefined && !(p99 >= spec.medianMs && Number.isFinite(p99))) throw bad('needs p99Ms ≥ medianMs')
    if (spec.maxMs !== undefined && !(spec.maxMs > 0)) throw bad('needs maxMs > 0')
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise(resolve => setTimeout(resolve, ms)) : Promise.resolve()
}

/** A standard normal draw (Box–Muller) from a uniform source. */
function normal(rng: () => number): number {
  const u = 1 - rng() // (0, 1]
  const v = rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

function mix(seed: number, salt: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  return (h ^ (h >>> 15)) >>> 0
}

/** A small seeded PRNG (mulberry32): the same numbers for the same seed, on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
