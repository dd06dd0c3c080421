import { type Bucket, PARTITION_MS, isBucket, segmentKey } from '../storage/index.js'
import { MAX_SEGMENT_PARTITIONS, createObject, randomBatchKey, segmentId } from '../wal/index.js'
import { REMEMBER_KEYS_MS, RETAIN_MS, SKEW_MS, type ShardConfig } from './options.js'
import {
  type AppendRequest, type AppendResponse, type FlushResponse, PATHS, type ReadRequest, type ReadResponse,
  type ShardStatus,
} from './protocol.js'
import { type SegmentRecord, type Sql, ShardStore, type Unflushed } from './shard_store.js'

/** The part of a Durable Object's state the shard uses (workers-types' DurableObjectState fits). */
export interface ShardState {
  storage: {
    sql: Sql
    transactionSync<T>(fn: () => T): T
    getAlarm(): Promise<number | null>
    setAlarm(at: number): Promise<void>
  }
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}

/** Waits before an alarm retries a flush that failed (R2 down): doubling, at most a minute. */
const RETRY_MS = [1_000, 5_000, 15_000, 60_000]

/**
 * A group-commit buffer shard: a SQLite-backed Durable Object. Users re-export it from their
 * Worker (`export { ParqueDBBuffer } from 'parquedb'`) and bind it (docs/guide.md).
 *
 * An append is stored as one SQLite row before the shard answers (invariant durable-on-ack).
 * The shard's alarm flushes what it holds of a collection as ONE WAL segment once `maxEvents`,
 * `maxBytes` or `maxWaitMs` is reached, in three steps each of which a restart may interrupt:
 * record the flush (its segment key fixed), PUT the segment create-if-absent, and later drop the
 * batches. A restart after the PUT re-PUTs the same key, which stores nothing (invariants
 * crash-safe, exactly-once). Readers get the batches not yet in a stored segment, each tagged
 * with the segment its flush writes, so a read counts every row once (wal/buffered.ts).
 */
export class ParqueDBBuffer {
  private store: ShardStore
  private config: ShardConfig | null
  private configText: string | null
  private alarmAt: number | null = null
  private failures = 0
  /** Counters kept across restarts (saved with each alarm): what the shard cost, for status and docs/costs.md. */
  private stats = { alarms: 0, rowsWritten: 0, starts: 0 }
  private savedRows = 0
  /** Flushes run one at a time: the alarm's and an explicit flush request's. */
  private work: Promise<unknown> = Promise.resolve()

  constructor(private readonly ctx: ShardState, private readonly env: Record<string, unknown>) {
    this.store = new ShardStore(ctx.storage.sql)
    this.configText = this.store.meta('config')
    this.config = this.configText ? JSON.parse(this.configText) as ShardConfig : null
    const saved = this.store.meta('stats')
    if (saved) this.stats = JSON.parse(saved) as typeof this.stats
    this.savedRows = this.stats.rowsWritten
    this.stats.starts++
    void ctx.blockConcurrencyWhile(async () => { this.alarmAt = await ctx.storage.getAlarm() })
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname
    try {
      switch (path) {
        case PATHS.append: return json(await this.append(await request.json() as AppendRequest))
        case PATHS.read: return json(this.read(await request.json() as ReadRequest))
        case PATHS.status: return json(this.status())
        case PATHS.flush: return json(await this.flush(true))
        default: return new Response(`ParqueDBBuffer: no route ${path}`, { status: 404 })
      }
    } catch (e) {
      return new Response(`ParqueDBBuffer ${path}: ${(e as Error)?.message ?? String(e)}`, { status: 500 })
    }
  }

  /** The alarm: flush what is due, drop what was stored long enough ago, re-arm. */
  async alarm(): Promise<void> {
    this.alarmAt = null
    this.stats.alarms++
    try {
      await this.flush(false)
      this.failures = 0
    } catch (e) {
      const wait = RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!
      console.error(`parquedb: buffer ${this.config?.shard} could not flush (${(e as Error)?.message ?? e}); ` +
        `retrying in ${wait} ms; nothing is lost, reads still see the events`)
      await this.arm(Date.now() + wait)
      return
    }
    await this.arm(this.nextDue())
    this.saveStats()
  }

  /** The counters, saved (one row) once per alarm rather than once per append. */
  private saveStats() {
    this.stats.rowsWritten = this.savedRows + this.store.rowsWritten
    this.store.setMeta('stats', JSON.stringify(this.stats))
  }

  async append(req: AppendRequest): Promise<AppendResponse> {
    if (this.store.has(req.key)) return { duplicate: true }
    const text = JSON.stringify(req.config)
    if (text !== this.configText) {
      this.store.setMeta('config', text)
      this.configText = text
      this.config = req.config
    }
    const now = Date.now()
    const { config: _config, ...fields } = req
    const batch = { ...fields, at: now }
    const hours = Math.floor(req.maxTime / PARTITION_MS) - Math.floor(req.minTime / PARTITION_MS) + 1
    if (!(hours <= MAX_SEGMENT_PARTITIONS)) {
      throw new Error(`a buffered batch spans ${hours} hours, over the ${MAX_SEGMENT_PARTITIONS} of one segment; ` +
        'the client writes such a batch straight to the WAL')
    }
    const fits = this.store.fits(batch, req.config.maxBytes)
    try {
      this.ctx.storage.transactionSync(() => {
        // A table is one future segment. Its id is random, fixed as the table is created: unique
        // whatever other shards, namespaces or a reset storage write to the same bucket, where a
        // repeated id would be taken for a retry and dropped (invariant exactly-once).
        if (!fits) this.store.openTable(req.collection, () => segmentId(randomBatchKey(), 0))
        this.store.append(batch)
      })
    } catch (e) {
      // SQLite rolled the batch back; the store's in-memory view may not have. Rebuild it from
      // what is stored, so a retry of this batch is stored, not taken for a duplicate (durable-on-ack).
      const rowsWritten = this.store.rowsWritten
      this.store = new ShardStore(this.ctx.storage.sql)
      this.store.rowsWritten += rowsWritten
      throw e
    }
    const due = this.store.unrecorded().map(t => (t.current ? this.dueAt(req.config, t) : now))
    await this.arm(Math.min(...due))
    return { duplicate: false }
  }

  read(req: ReadRequest): ReadResponse {
    const from = req.from ?? Number.MIN_SAFE_INTEGER
    const to = req.to ?? Number.MAX_SAFE_INTEGER
    return { batches: this.store.read(req.collection, from, to, req.listedAt - SKEW_MS) }
  }

  status(): ShardStatus {
    const now = Date.now()
    let batches = 0, events = 0, bytes = 0, oldest = Infinity
    const count = (n: { batches: number; events: number; bytes: number }) => {
      batches += n.batches; events += n.events; bytes += n.bytes
    }
    for (const u of this.store.unrecorded()) { count(u); oldest = Math.min(oldest, u.oldestAt) }
    const unstored = this.store.records('unstored')
    for (const f of unstored) {
      const size = this.store.size(f.seq)
      count(size)
      oldest = Math.min(oldest, size.oldestAt)
    }
    const stored = this.store.records('all').filter(r => r.storedAt !== null).length
    return {
      shard: this.config?.shard ?? '', batches, events, bytes,
      oldestAgeMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
      flushing: unstored.length, flushedSegments: stored,
      rowsWritten: this.savedRows + this.store.rowsWritten, alarms: this.stats.alarms, starts: this.stats.starts,
    }
  }

  /** Flushes (all of it when `force`, else what is due), one at a time. */
  flush(force: boolean): Promise<FlushResponse> {
    const run = this.work.then(() => this.flushNow(force))
    this.work = run.catch(() => {})
    return run
  }

  private async flushNow(force: boolean): Promise<FlushResponse> {
    const config = this.config
    if (!config) return { segments: 0 }
    // A flush recorded before a restart is PUT again under its recorded key (invariant crash-safe).
    let segments = await this.putRecorded()
    // A table that is no longer its collection's current one is full: due at once.
    for (const t of this.store.unrecorded()) {
      if (force || !t.current || this.dueAt(config, t) <= Date.now()) {
        this.recordFlush(t.seq)
        segments += await this.putRecorded()
      }
    }
    this.dropStored(Date.now())
    return { segments }
  }

  /**
   * Step 1: fix a table's segment key (its flush time and time range) in storage, before any PUT;
   * new batches of its collection go to a new table from here on.
   */
  recordFlush(seq: number): SegmentRecord {
    const config = this.config
    if (!config) throw new Error('this buffer shard has never been sent a batch')
    const collection = this.store.unrecorded().find(t => t.seq === seq)?.collection
    if (collection === undefined) throw new Error(`buffer ${config.shard}: no unrecorded table ${seq}`)
    const now = Date.now()
    return this.store.recordFlush(seq, (segment, minTime, maxTime) =>
      segmentKey(config.prefix, collection, now, minTime, maxTime, segment))
  }

  /**
   * Step 2: every recorded flush's segment, create-if-absent under its recorded key (a repeat after
   * a restart stores nothing), then marked stored. Resolves with the segments PUT.
   */
  async putRecorded(): Promise<number> {
    const unstored = this.store.records('unstored')
    if (!unstored.length) return 0
    const bucket = this.bucket(this.config!)
    for (const f of unstored) {
      await createObject(bucket, f.key!, this.store.body(f.seq))
      this.store.markStored(f.seq, Date.now())
    }
    return unstored.length
  }

  /**
   * Step 3: a stored segment holds its batches, so the shard drops their table — RETAIN_MS after the PUT,
   * so a reader that listed the WAL just before it still finds them here (wal/buffered.ts,
   * invariant exactly-once); their keys are forgotten REMEMBER_KEYS_MS after it.
   */
  dropStored(now: number): void {
    for (const f of this.store.records('stored')) {
      if (f.storedAt! + RETAIN_MS <= now) this.ctx.storage.transactionSync(() => this.store.drop(f.seq))
    }
    for (const f of this.store.records('dropped')) if (f.storedAt! + REMEMBER_KEYS_MS <= now) this.store.forget(f.seq)
  }

  /** When a collection's current table is due: at once when full, else maxWaitMs after its oldest batch. */
  private dueAt(config: ShardConfig, u: Unflushed): number {
    return u.events >= config.maxEvents || u.bytes >= config.maxBytes ? Date.now() : u.oldestAt + config.maxWaitMs
  }

  /** When the alarm must next run: the earliest flush, drop or forget due, or null. */
  private nextDue(): number | null {
    const config = this.config
    let at = Infinity
    if (config) {
      for (const t of this.store.unrecorded()) at = Math.min(at, t.current ? this.dueAt(config, t) : Date.now())
    }
    if (this.store.records('unstored').length) at = Date.now()
    for (const f of this.store.records('stored')) at = Math.min(at, f.storedAt! + RETAIN_MS)
    for (const f of this.store.records('dropped')) at = Math.min(at, f.storedAt! + REMEMBER_KEYS_MS)
    return Number.isFinite(at) ? at : null
  }

  /** Sets the alarm to `at` unless one is already set as early (each set is a storage write). */
  private async arm(at: number | null): Promise<void> {
    if (at === null || (this.alarmAt !== null && this.alarmAt <= at)) return
    this.alarmAt = at
    await this.ctx.storage.setAlarm(at)
  }

  private bucket(config: ShardConfig): Bucket {
    const bucket = this.env[config.bucketBinding]
    if (!isBucket(bucket)) {
      throw new Error(`no R2 bucket binding ${config.bucketBinding} in the env of ParqueDBBuffer; bind it in ` +
        'wrangler.toml ([[r2_buckets]]) or set ingest.buffer.bucketBinding')
    }
    return bucket
  }
}



function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
}
