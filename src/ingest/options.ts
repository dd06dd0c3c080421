/** `DB(schema, { ingest: { buffer } })`: group commit through ParqueDBBuffer Durable Objects. */
export interface BufferOptions {
  /**
   * The Durable Object namespace binding of the ParqueDBBuffer class: its name in the env
   * (`'PARQUEDB_BUFFER'`), or the namespace itself.
   */
  binding: string | DurableObjectNamespaceLike
  /**
   * Shards (one Durable Object each); each batch goes to one, chosen by its key, so load spreads
   * evenly and a retried batch reaches the shard that has it. Default 8: a few thousand events a
   * second at a few hundred requests a second per shard. Changing it re-routes retries of
   * batches acknowledged before the change (they may be stored twice).
   */
  shards?: number
  /** A shard flushes a collection once it holds this many events. Default 2,000. */
  maxEvents?: number
  /** ... or this many bytes of WAL lines (at most MAX_SEGMENT_BYTES). Default 2 MiB. */
  maxBytes?: number
  /** ... or when its oldest event has waited this long (an alarm). Default 5,000 ms. */
  maxWaitMs?: number
  /**
   * The R2 binding the shards flush into: their env is the Worker's env. Default: the
   * `storage: { binding }` name, else 'PARQUEDB'.
   */
  bucketBinding?: string
}

/** The part of a DurableObjectNamespace the client uses (workers-types' class fits). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: never): { fetch(input: string, init?: RequestInit): Promise<Response> }
}

/** The settings a shard flushes by: sent with every append, kept in the shard's storage for its alarm. */
export interface ShardConfig {
  /** The shard's name: its Durable Object name, and the root of its segment ids. */
  shard: string
  prefix: string
  bucketBinding: string
  maxEvents: number
  maxBytes: number
  maxWaitMs: number
}

export const DEFAULT_BUFFER = { shards: 8, maxEvents: 2000, maxBytes: 2 << 20, maxWaitMs: 5000 }

/**
 * How long a shard keeps a batch after the segment holding it is stored: a read listing the WAL
 * up to RETAIN_MS / 2 before the shard answers still finds every batch (wal/buffered.ts).
 */
export const RETAIN_MS = 30_000

/**
 * Clock skew tolerated between a reader and a shard: a shard leaves out of a read the batches
 * stored more than this before the reader listed the WAL (the listing holds them).
 */
export const SKEW_MS = 5_000

/**
 * How long a shard remembers the keys of the batches it flushed, so a retried batch is stored
 * once (the compaction grace period: a retry later than that is no longer one). 10 minutes.
 */
export const REMEMBER_KEYS_MS = 600_000

/**
 * A batch larger than this goes straight to the WAL as without the buffer: a Durable Object's
 * SQLite row holds at most 2 MB, and a batch this large is its own segment anyway.
 */
export const MAX_BUFFERED_BATCH_BYTES = 1 << 20
