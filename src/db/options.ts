import type { CompactionOptions, TablePublisher } from '../compactor/index.js'
import type { BufferOptions } from '../ingest/index.js'
import type { QueryLimits } from '../query/index.js'
import { type StorageOption, utf8Length } from '../storage/index.js'

export interface DBOptions {
  /**
   * Where data lives: `{ type: 'r2', bucket: env.PARQUEDB }`, `{ type: 'memory' }`, `{ type: 'fs', path }`,
   * or any Bucket.
   */
  storage: StorageOption
  /** Key prefix inside the bucket, so several stores can share one bucket. Default ''. */
  prefix?: string
  /** The clock (ms since epoch) used wherever the engine reads the time. Default Date.now. */
  now?: () => number
  /** Compaction knobs; see CompactionOptions. */
  compaction?: Partial<CompactionOptions>
  /** Secret name holding the bearer token of the admin API. Default 'PARQUEDB_ADMIN_TOKEN'. */
  adminTokenSecret?: string
  /**
   * How long to keep each collection's or view's rows: `{ TailEvents: '30 days', EndpointMetrics: '1 year' }`
   * (a duration string, or milliseconds). Whole hour partitions (a view: whole time buckets) older than
   * this are dropped by the compaction pass. Absent: kept forever.
   */
  retention?: Record<string, string | number>
  /**
   * Storage requests a read or a compaction pass keeps in flight (`compaction.concurrency` and
   * find's `concurrency` override it); R2 answers in tens of milliseconds, so a path touching many
   * objects waits about latency × objects / concurrency. Default 16.
   */
  concurrency?: number
  /** Default limits of every query (find(), db.sql): timeoutMs, maxRows, maxJoinPairs (docs/guarantees.md). */
  query?: QueryLimits
  /**
   * Publish collections and row views as Apache Iceberg tables, once per compaction pass:
   * `icebergTables({ location: 's3://parquedb-data' })` from `parquedb/iceberg` (docs/interop.md).
   */
  iceberg?: TablePublisher
  /**
   * How writes reach the WAL. Without this, each bulkCreate()/tail() batch is one R2 PUT. With
   * `buffer`, batches go to ParqueDBBuffer Durable Object shards that flush many as one segment
   * (docs/guide.md, "Group commit"; docs/costs.md).
   */
  ingest?: { buffer?: BufferOptions }
}

export class DBConfigError extends Error {
  override name = 'DBConfigError'
}

/** In UTF-8 bytes: longer prefixes leave too little of R2's 1,024-byte key limit for the engine's own keys. */
export const MAX_PREFIX_BYTES = 256

const PREFIX_RULE = 'a prefix is one or more names separated by single /, with an optional trailing /, '
  + `at most ${MAX_PREFIX_BYTES} bytes, and no name empty, "." or "..", no backslash or control character `
  + "(e.g. 'tenant-a' or 'team/tenant-a/')"

/**
 * '' or a validated prefix ending in '/'. Every key the store writes starts with it, so a prefix that
 * climbs (`..`), aliases (`a//b`), starts at a root (`/`) or holds characters a path treats specially
 * would put the store somewhere else than asked, or outside the folder of an fs bucket.
 */
export function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return ''
  const long = typeof prefix === 'string' && prefix.length > 80
  const shown = long ? `${JSON.stringify(prefix.slice(0, 80))}…` : JSON.stringify(prefix)
  const bad = (why: string) => new DBConfigError(`prefix ${shown} ${why}; ${PREFIX_RULE}`)
  if (typeof prefix !== 'string') throw bad(`is a ${typeof prefix}, not a string`)
  const bytes = utf8Length(prefix)
  if (bytes > MAX_PREFIX_BYTES) throw bad(`is ${bytes} bytes long`)
  if (/[\x00-\x1f\x7f-\x9f]/.test(prefix)) throw bad('holds a control character')
  if (prefix.includes('\\')) throw bad('holds a backslash')
  if (prefix.startsWith('/')) throw bad('starts with /')
  const names = (prefix.endsWith('/') ? prefix.slice(0, -1) : prefix).split('/')
  for (const name of names) {
    if (name === '') throw bad('has an empty name (//)')
    if (name === '.' || name === '..') throw bad(`has a "${name}" name`)
  }
  return prefix.endsWith('/') ? prefix : `${prefix}/`
}

const UNIT_MS: Record<string, number> = {
  m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000,
}

/**
 * `'30 days'`, `'12h'`, `'2 weeks'`, `'1 year'` or milliseconds → milliseconds;
 * at least an hour, the partition size.
 */
export function parseRetention(name: string, value: string | number): number {
  let ms = typeof value === 'number' ? value : NaN
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(m|mins?|minutes?|h|hours?|d|days?|w|weeks?|y|years?)\s*$/i.exec(value)
    if (m) ms = Number(m[1]) * UNIT_MS[m[2]![0]!.toLowerCase()]!
  }
  if (!Number.isFinite(ms)) {
    throw new DBConfigError(`retention.${name}: ${JSON.stringify(value)} is not a duration; ` +
      "write e.g. '30 days', '12 hours', '2 weeks', '1 year', or milliseconds")
  }
  if (ms < UNIT_MS.h!) {
    throw new DBConfigError(`retention.${name}: ${JSON.stringify(value)} is shorter than an hour, ` +
      'the size of a partition')
  }
  return ms
}
