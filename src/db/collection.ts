import { type Filter, loadDigest } from '../expr/index.js'
import { FindQuery, collectionTarget, type FindContext, type FindOptions } from '../query/index.js'
import { type CollectionSchema, normalizeRow } from '../schema/index.js'
import { type Bucket, batchQuarantineKey, utf8Length } from '../storage/index.js'
import {
  type EncodedRow, MAX_EVENT_BYTES, type QuarantineEntry, WalWriteError, type WalWriter, batchId, quarantineBody,
  randomBatchKey, writeQuarantine,
} from '../wal/index.js'

export interface Rejected {
  index: number
  reason: string
}

export interface BulkCreateResult {
  /** Events stored in the WAL. */
  written: number
  /** Events refused, with why; they are kept under quarantine/, never dropped silently. */
  rejected: Rejected[]
  /** Key of the (first) WAL segment written, or null when no event was valid. */
  segment: string | null
  /** Every WAL segment written: a batch over many hours or megabytes is split (docs/guarantees.md). */
  segments: string[]
  /** Key of the quarantine object holding the rejected events, or null. */
  quarantine: string | null
  /**
   * With `ingest.buffer`: the shard that stored the batch; its segment is written when the shard
   * flushes (`segment` is null and `segments` empty until then). Absent when written to the WAL directly.
   */
  shard?: string
}

export interface BulkCreateOptions {
  /**
   * Makes a retry of this batch a no-op: the same key with the same events stores nothing more,
   * whether or not the first call's segments were stored, acknowledged or already compacted
   * (within the grace period after compaction, 10 minutes by default). Up to 256 characters.
   */
  idempotencyKey?: string
}

export interface CollectionDeps extends FindContext {
  bucket: () => Promise<Bucket>
  prefix: string
  now: () => number
  wal: WalWriter
}

const MAX_IDEMPOTENCY_KEY = 256

interface PreparedBatch {
  rows: EncodedRow[]
  bad: QuarantineEntry[]
  total: number
}

/** One collection of a DB: writes go to the WAL; reads merge Parquet with the WAL tail. */
export class Collection<Row = Record<string, unknown>, Input = Record<string, unknown>> {
  constructor(readonly schema: CollectionSchema, private readonly deps: CollectionDeps) {}

  /**
   * Validates each event and stores the valid ones in the WAL: one segment (one PUT) for a
   * usual batch, more for one over many hours or megabytes. Resolves exactly when every segment
   * is stored; rejects with WalWriteError (carrying the idempotency key that makes a retry safe)
   * otherwise. Invalid events are reported in `rejected` and kept in a quarantine object,
   * written first, so a failure there stores nothing.
   */
  async bulkCreate(events: readonly Input[], options: BulkCreateOptions = {}): Promise<BulkCreateResult> {
    const name = this.schema.name
    if (!Array.isArray(events)) {
      throw new TypeError(`${name}.bulkCreate() takes an array of events, got ${typeof events}`)
    }
    const key = options.idempotencyKey
    if (key !== undefined && (typeof key !== 'string' || !key || key.length > MAX_IDEMPOTENCY_KEY)) {
      throw new TypeError(`${name}.bulkCreate(): idempotencyKey must be a non-empty string ` +
        `of at most ${MAX_IDEMPOTENCY_KEY} characters`)
    }
    return this.write(this.prepare(events), key ?? randomBatchKey())
  }

  /**
   * bulkCreate keyed by what the batch stores (its rows, and why the others were rejected), so
   * the same batch delivered twice is stored once: what db.tail uses for TraceItem batches.
   */
  async bulkCreateOnce(events: readonly Input[]): Promise<BulkCreateResult> {
    const batch = this.prepare(events)
    // The quarantine body is in the key, so one key means the same rows and the same quarantine record.
    const content = batch.rows.map(r => r.line).join('\n') + '\n' + quarantineBody(batch.bad)
    // 32 hex digits: a token batchId takes as it is, so the tail path hashes once, without WebCrypto.
    return this.write(batch, (await loadDigest())(content))
  }

  /** Validates and encodes each event: a JSON line for the WAL, or the reason it is refused. */
  private prepare(events: readonly Input[]): PreparedBatch {
    const rows: EncodedRow[] = []
    const bad: QuarantineEntry[] = []
    for (let index = 0; index < events.length; index++) {
      const event = events[index]
      const n = normalizeRow(this.schema, event)
      if (!n.ok) { bad.push({ index, reason: n.reason, event }); continue }
      const line = JSON.stringify(n.row)
      const bytes = utf8Length(line)
      if (bytes > MAX_EVENT_BYTES) {
        bad.push({
          index, reason: `is ${bytes} bytes as JSON, over the ${MAX_EVENT_BYTES}-byte limit for one event`, event,
        })
        continue
      }
      rows.push({ line, time: n.row[this.schema.timeField] as number, bytes })
    }
    return { rows, bad, total: events.length }
  }

  /** Quarantine first, then the WAL: a failure stores nothing or says what it stored (WalWriteError). */
  private async write({ rows, bad, total }: PreparedBatch, batchKey: string): Promise<BulkCreateResult> {
    const name = this.schema.name
    let quarantine: string | null = null
    try {
      if (bad.length) {
        const qKey = batchQuarantineKey(this.deps.prefix, name, await batchId(batchKey))
        quarantine = await writeQuarantine(await this.deps.bucket(), qKey, bad)
      }
      const appended = rows.length ? await this.deps.wal.append(name, rows, batchKey) : null
      if (bad.length) {
        const some = bad.slice(0, 3).map(b => `#${b.index} ${b.reason}`).join('; ')
        console.warn(`parquedb: ${name}.bulkCreate rejected ${bad.length} of ${total} events ` +
          `(kept in ${quarantine}): ${some}`)
      }
      const segments = appended?.keys ?? []
      const rejected = bad.map(({ index, reason }) => ({ index, reason }))
      const shard = appended?.shard ? { shard: appended.shard } : {}
      return { written: rows.length, rejected, segment: segments[0] ?? null, segments, quarantine, ...shard }
    } catch (e) {
      if (e instanceof WalWriteError) e.idempotencyKey = batchKey
      throw e
    }
  }

  async create(event: Input, options?: BulkCreateOptions): Promise<BulkCreateResult> {
    return this.bulkCreate([event], options)
  }

  /**
   * Rows matching a MongoDB-style filter, compacted or still in the WAL, each exactly once.
   * `await` it for an array (or `.items`), `for await` to stream, `.explain()` for its costs.
   */
  find(filter?: Filter, options?: FindOptions): FindQuery<Row> {
    return new FindQuery<Row>(collectionTarget(this.schema), this.deps, filter, options)
  }
}

