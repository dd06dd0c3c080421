/**
 * parquedb: Cloudflare Workers tail events in your own R2 bucket.
 * WAL ingest on every tail() (or group commit through ParqueDBBuffer Durable Objects), compaction
 * into hour-partitioned Parquet on a cron, reads that merge the two.
 */
export {
  DB, Collection, View, DBConfigError, type ViewStatus, type BulkCreateResult, type BulkCreateOptions, type DBCore,
  type DBInstance, type DBOptions, type DBStatus, type BufferStatus, type CollectionStatus, type Rejected, type RowOf,
  type InputOf, MAX_ADMIN_BODY_BYTES, AdminInputError,
} from './db/index.js'
export { MemoryBucket, StorageError, type Bucket, type StorageOption, type OpCounts } from './storage/index.js'
export {
  LatencyBucket, R2_LATENCY, WORKER_CONNECTIONS, type LatencyBucketOptions, type LatencyCounts, type LatencyLogEntry,
  type LatencyOpKind, type LatencySpec,
} from './storage/index.js'
export { SchemaError } from './schema/index.js'
export {
  ParqueDBBuffer, BufferConfigError, DEFAULT_BUFFER, type BufferOptions, type ShardStatus,
} from './ingest/index.js'
export { ManifestError, type Manifest, type DataFile, type PassSummary } from './manifest/index.js'
export {
  CompactionConflictError, DEFAULT_COMPACTION, type CompactionOptions, type RecompactRequest, type RecompactResult,
} from './compactor/index.js'
export {
  WalWriteError, MAX_EVENT_BYTES, MAX_SEGMENT_BYTES, MAX_SEGMENT_PARTITIONS, MAX_SEGMENT_READ_BYTES,
} from './wal/index.js'
export type { ScanStats, Explain, FindOptions, FindQuery, SqlResult, QueryLimits } from './query/index.js'
export { SqlError, MissingObjectError, QueryLimitError, DEFAULT_QUERY_LIMITS } from './query/index.js'
export { ExprError } from './expr/index.js'
export { RELATIVE_ACCURACY as PERCENTILE_RELATIVE_ACCURACY, StateFormatError } from './mv/index.js'
