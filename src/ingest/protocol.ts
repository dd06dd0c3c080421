import type { BufferedBatch } from '../wal/index.js'
import type { ShardConfig } from './options.js'
import type { NewBatch } from './shard_store.js'

/**
 * The requests a client sends a shard, as JSON over the Durable Object's fetch(): one request
 * per append (the batch's WAL lines, validated by the caller), per read, per status, per flush.
 * Plain fetch rather than RPC, so the class needs nothing from `cloudflare:workers` and the
 * package still loads in Node.
 */
export const PATHS = { append: '/append', read: '/read', status: '/status', flush: '/flush' } as const

/** A batch (its `key` is its idempotency key: a shard stores a batch with a key it has seen once), and the settings. */
export interface AppendRequest extends Omit<NewBatch, 'at'> {
  config: ShardConfig
}

export interface AppendResponse {
  /** The shard already had this batch (a retry): nothing more was stored. */
  duplicate: boolean
}

export interface ReadRequest {
  collection: string
  from: number | null
  to: number | null
  /** When the reader listed the WAL (its clock): batches stored well before are in that listing. */
  listedAt: number
}

export interface ReadResponse {
  batches: BufferedBatch[]
}

/** One shard's backlog: what `db.status()` shows per shard. */
export interface ShardStatus {
  shard: string
  /** Batches, events and bytes acknowledged and not yet in a stored segment. */
  batches: number
  events: number
  bytes: number
  /** Age of the oldest of them, ms; 0 when there is none. */
  oldestAgeMs: number
  /** Flushes whose segment PUT has not succeeded yet (retried by the shard's alarm). */
  flushing: number
  /** Segments this shard has flushed, ever. */
  flushedSegments: number
  /** SQLite rows written (Durable Objects bill them: docs/costs.md), counted across restarts up to the last alarm. */
  rowsWritten: number
  /** Alarms run (each is billed as a request). */
  alarms: number
  /** Times the object was started (first use, and after each eviction or restart). */
  starts: number
}

export interface FlushResponse {
  /** Segments written by this flush. */
  segments: number
}
