import type { BufferedBatch } from '../wal/index.js'
import type { ShardConfig } from './options.js'

/**
 * The requests a client sends a shard, as JSON over the Durable Object's fetch(): one request
 * per append (the batch's WAL lines, validated by the caller), per read, per status, per flush.
 * Plain fetch rather than RPC, so the class needs nothing from `cloudflare:workers` and the
 * package still loads in Node.
 */
export const PATHS = { append: '/append', read: '/read', status: '/status', flush: '/flush' } as const

export interface AppendRequest {
  config: ShardConfig
  collection: string
  /** The batch's idempotency key: a shard stores a batch with a key it has seen once. */
  key: string
  lines: string
  events: number
  bytes: number
  minTime: number
  maxTime: number
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
  /** SQLite rows written since the object started (Durable Objects bill them: docs/costs.md). */
  rowsWritten: number
  /** Alarms run since the object started (each is billed as a request). */
  alarms: number
}

export interface FlushResponse {
  /** Segments written by this flush. */
  segments: number
}
