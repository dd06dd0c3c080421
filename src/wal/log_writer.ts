import { type Bucket, mapLimit, segmentKey } from '../storage/index.js'
import { createObject } from './create_object.js'
import { type EncodedRow, planSegments } from './segment_plan.js'
import { batchId, segmentId } from './segment_key.js'
import { WalWriteError } from './write_error.js'

/** Rows already validated and normalized (plain JSON, timestamps in ms). */
export type WalRow = Record<string, unknown>

export interface AppendResult {
  /** The segments stored, in order. */
  keys: string[]
  rows: number
  bytes: number
  /** The buffer shard that holds the batch until it flushes it (src/ingest); absent when written directly. */
  shard?: string
}

/**
 * The write side of the WAL behind an interface, so a buffering writer (a Durable
 * Object that coalesces many tail() calls into one segment) can replace it.
 */
export interface WalWriter {
  /**
   * Stores a batch durably. `batchKey` identifies the batch: appending the same rows under the
   * same key again adds nothing that readers or the compactor count (invariant exactly-once).
   */
  append(collection: string, rows: readonly EncodedRow[], batchKey: string): Promise<AppendResult>
}

/** PUTs of one batch in flight at once (a batch over several hours or megabytes has several). */
const PUT_CONCURRENCY = 4

/** One batch → immutable NDJSON segments (usually one), each a single create-if-absent PUT. */
export class R2WalWriter implements WalWriter {
  constructor(
    private readonly bucket: () => Promise<Bucket>,
    private readonly prefix: string,
    private readonly now: () => number,
  ) {}

  async append(collection: string, rows: readonly EncodedRow[], batchKey: string): Promise<AppendResult> {
    if (rows.length === 0) throw new WalWriteError('append() needs at least one row')
    const plans = planSegments(rows)
    const bucket = await this.bucket()
    const ingestedAt = Math.max(0, Math.trunc(this.now()))
    const batch = await batchId(batchKey)
    const keys = plans.map((p, part) =>
      segmentKey(this.prefix, collection, ingestedAt, p.minTime, p.maxTime, segmentId(batch, part)))
    const stored = new Array<boolean>(plans.length).fill(false)
    let failure: unknown
    await mapLimit(plans, PUT_CONCURRENCY, async (plan, i) => {
      await createObject(bucket, keys[i]!, plan.rows.map(r => r.line).join('\n') + '\n')
      stored[i] = true
    }).catch((e: unknown) => { failure = e ?? new Error('unknown failure') })
    if (failure !== undefined) {
      const done = keys.filter((_, i) => stored[i])
      const err = new WalWriteError(
        `${collection}: stored ${done.length} of ${plans.length} WAL segments of this batch before a write failed ` +
        `(${(failure as Error)?.message ?? String(failure)}); ` +
        `retry with { idempotencyKey: ${JSON.stringify(batchKey)} } ` +
        'to store the rest without storing any event twice', { cause: failure })
      err.idempotencyKey = batchKey
      err.stored = done
      throw err
    }
    return { keys, rows: rows.length, bytes: plans.reduce((n, p) => n + p.bytes, 0) }
  }
}
