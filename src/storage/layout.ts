/**
 * The bucket's layout: every object key the engine writes or parses is built and recognised
 * here, and nowhere else (LevelDB's filename.cc). All keys sit under the store's prefix:
 *
 *   _manifest.json                                            the source of truth (CAS commits)
 *   _last_pass.json                                           the last pass's summary
 *   wal/<C>/<ingestMs>-<minEventMs>-<maxEventMs>-<id>.ndjson  a batch (or part of one)
 *   quarantine/<C>/batch-<id>.ndjson                          events a bulkCreate rejected
 *   quarantine/<C>/wal-<segment name>                         WAL lines compaction could not ingest
 *   data/<C>/dt=YYYY-MM-DD/hour=HH/<createdMs>-L<level>-<id>.parquet   collection and view files
 *   data/<C>/metadata/v<N>.metadata.json                     Iceberg table metadata (src/iceberg)
 *   data/<C>/metadata/version-hint.text                      the newest N, for path-based readers
 *   data/<C>/metadata/snap-<createdMs>-<id>.avro             an Iceberg manifest list
 *   data/<C>/metadata/<createdMs>-<id>-m0.avro               an Iceberg manifest
 *
 * Times are zero-padded to 15 digits, so keys sort by time and a LIST is in time order.
 */

const PAD = 15
/** The width of a partition: every collection and view is cut on UTC hours. */
export const PARTITION_MS = 3_600_000
const SEGMENT_NAME = /^(\d{15})-(\d{15})-(\d{15})-([a-z0-9]+)\.ndjson$/
const DATA_FILE_NAME = /\/(\d{15})-L\d-[a-z0-9]+\.parquet$/
const TABLE_METADATA_NAME = /\/metadata\/(?:snap-)?(\d{15})-[a-z0-9]+(?:-m0)?\.avro$/
const PARTITION = /^dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})$/

export function manifestKey(prefix: string): string {
  return `${prefix}_manifest.json`
}

export function lastPassKey(prefix: string): string {
  return `${prefix}_last_pass.json`
}

export function walPrefix(prefix: string, collection: string): string {
  return `${prefix}wal/${collection}/`
}

/** The parts of a WAL segment's name. */
export interface SegmentName {
  ingestedAt: number
  minTime: number
  maxTime: number
  id: string
}

export function segmentKey(
  prefix: string, collection: string, ingestedAt: number, minTime: number, maxTime: number, id: string,
): string {
  return `${walPrefix(prefix, collection)}${pad(ingestedAt)}-${pad(minTime)}-${pad(maxTime)}-${id}.ndjson`
}

/** Parses a listed key; null for anything that is not a segment (stray uploads are ignored, not fatal). */
export function parseSegmentKey(prefix: string, collection: string, key: string): SegmentName | null {
  const base = walPrefix(prefix, collection)
  if (!key.startsWith(base)) return null
  const m = SEGMENT_NAME.exec(key.slice(base.length))
  if (!m) return null
  return { ingestedAt: Number(m[1]), minTime: Number(m[2]), maxTime: Number(m[3]), id: m[4]! }
}

/** The id part of a segment key (its last dash-separated field), or null for a foreign key. */
export function segmentIdOfKey(key: string): string | null {
  const m = /-([a-z0-9]+)\.ndjson$/.exec(key)
  return m ? m[1]! : null
}

export function quarantinePrefix(prefix: string, collection: string): string {
  return `${prefix}quarantine/${collection}/`
}

/** Where the events a batch rejected are kept: one object per batch, named by the batch's id. */
export function batchQuarantineKey(prefix: string, collection: string, batchId: string): string {
  return `${quarantinePrefix(prefix, collection)}batch-${batchId}.ndjson`
}

/**
 * Where compaction keeps a WAL segment's bad lines and misfit rows: named after the segment, so
 * a pass that dies after writing it and is run again writes it once, not once per attempt.
 */
export function segmentQuarantineKey(prefix: string, collection: string, segmentKey: string): string {
  return `${quarantinePrefix(prefix, collection)}wal-${segmentKey.slice(segmentKey.lastIndexOf('/') + 1)}`
}

/** Data files of a collection or view. */
export function dataPrefix(prefix: string, collection: string): string {
  return `${prefix}data/${collection}/`
}

/** The hour partition of an instant: `dt=YYYY-MM-DD/hour=HH`, in UTC. */
export function partitionOf(ms: number): string {
  const iso = new Date(Math.floor(ms / PARTITION_MS) * PARTITION_MS).toISOString()
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`
}

/** [start, end) of a partition in ms. */
export function partitionRange(partition: string): [number, number] {
  const m = PARTITION.exec(partition)
  if (!m) throw new RangeError(`not a partition name: ${partition}`)
  const start = Date.parse(`${m[1]}T${m[2]}:00:00.000Z`)
  return [start, start + PARTITION_MS]
}

export interface DataFileName {
  prefix: string
  collection: string
  partition: string
  level: 0 | 1
  createdAt: number
}

/** A new data file's key; the random id keeps two compactors' outputs apart. */
export function dataFileKey(t: DataFileName): string {
  return `${dataPrefix(t.prefix, t.collection)}${t.partition}/${pad(t.createdAt)}-L${t.level}-${randomId()}.parquet`
}

/** The partition a data file's key names: the two folders above its name (`dt=…/hour=…`; see dataFileKey). */
export function partitionOfKey(key: string): string {
  return key.split('/').slice(-3, -1).join('/')
}

/**
 * The creation time a data file's or Iceberg Avro file's name carries; the orphan sweep ages files by it.
 */
export function createdAtOfKey(key: string): number | null {
  const m = DATA_FILE_NAME.exec(key) ?? TABLE_METADATA_NAME.exec(key)
  return m ? Number(m[1]) : null
}

/**
 * A collection or view published as an Iceberg table lives under its data prefix (the table's location),
 * with the table's metadata in `metadata/` beside the hour partitions, as path-based readers expect.
 */
export function tableMetadataPrefix(prefix: string, table: string): string {
  return `${dataPrefix(prefix, table)}metadata/`
}

/** `v<N>.metadata.json`: the name version-hint readers (DuckDB, icebird, Hadoop catalogs) look for. */
export function tableMetadataKey(prefix: string, table: string, version: number): string {
  return `${tableMetadataPrefix(prefix, table)}v${version}.metadata.json`
}

export function versionHintKey(prefix: string, table: string): string {
  return `${tableMetadataPrefix(prefix, table)}version-hint.text`
}

/** A snapshot's manifest list: written once, before the commit that references it. */
export function manifestListKey(prefix: string, table: string, createdAt: number): string {
  return `${tableMetadataPrefix(prefix, table)}snap-${pad(createdAt)}-${randomId()}.avro`
}

/** An Iceberg manifest (the files of one snapshot): written once, before the commit that references it. */
export function tableManifestKey(prefix: string, table: string, createdAt: number): string {
  return `${tableMetadataPrefix(prefix, table)}${pad(createdAt)}-${randomId()}-m0.avro`
}

/**
 * Whether a key is one this store writes: under its prefix, with no empty, `.` or `..` segment.
 * Garbage collection deletes nothing else (invariant safe-gc).
 */
export function isOwnKey(prefix: string, key: string): boolean {
  if (!key.startsWith(prefix)) return false
  return key.slice(prefix.length).split('/').every(part => part !== '' && part !== '.' && part !== '..')
}

/** 12 random base-36 characters: object ids no two writers share. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return [...bytes].map(b => b.toString(36).padStart(2, '0')).join('').slice(0, 12)
}

function pad(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`key times must be non-negative integers, got ${n}`)
  return String(n).padStart(PAD, '0')
}
