export type { Bucket, BucketListOptions, BucketPutOptions, BucketRange } from './bucket.js'
export { StorageError } from './bucket.js'
export { MemoryBucket } from './memory_bucket.js'
export { CountingBucket, emptyOpCounts, type OpCounts } from './counting_bucket.js'
export {
  LatencyBucket, R2_LATENCY, WORKER_CONNECTIONS, type LatencyBucketOptions, type LatencyCounts, type LatencyLogEntry,
  type LatencyOpKind, type LatencySpec,
} from './latency_bucket.js'
export { isBucket, openBucket, type StorageOption, workersEnvBinding } from './open.js'
export { listAll } from './list_all.js'
export {
  batchQuarantineKey, createdAtOfKey, dataFileKey, dataPrefix, isOwnKey, lastPassKey, manifestKey, manifestListKey,
  parseSegmentKey, PARTITION_MS, partitionOf, partitionOfKey, partitionRange, randomId, segmentIdOfKey, segmentKey,
  segmentQuarantineKey, tableManifestKey, tableMetadataKey, tableMetadataPrefix, versionHintKey, walPrefix,
} from './layout.js'
export { DEFAULT_CONCURRENCY, mapLimit, mapWeighted } from './concurrency.js'
export { utf8Length } from './utf8.js'
export { BACKOFF_MS, withRetries } from './retry.js'
