/**
 * The manifest is the single source of truth for what is compacted: which Parquet
 * files make up each collection, which WAL segments they already contain, and what
 * is waiting to be deleted. One JSON object, replaced whole by compare-and-swap.
 */

export type ColumnValue = string | number | null

/**
 * Min/max of one column over a file, for pruning without opening it. Strings are bounds, not
 * values: at most 64 UTF-16 units (min a prefix, max rounded up). A column without a short upper
 * bound has no entry; readers keep the file.
 */
export interface ColumnStats {
  min: ColumnValue
  max: ColumnValue
  nulls: number
  /**
   * Promoted columns only: rows whose nested value exists but is not of the column's type
   * (stored null in the column). Statistics say nothing about those, so pruning skips the
   * column in a file where this is not 0.
   */
  misfits?: number
}

export interface DataFile {
  key: string
  /** `dt=YYYY-MM-DD/hour=HH` */
  partition: string
  /** 0: written straight from the WAL; 1: merged from other files. */
  level: 0 | 1
  rows: number
  bytes: number
  minTime: number
  maxTime: number
  createdAt: number
  stats: Record<string, ColumnStats>
  /**
   * The digest of the promotions the file was written with (promotionDigest), when it has any: its
   * promoted columns' statistics are trusted only while the schema's digest is the same. Files
   * written before it was recorded have none, and are not pruned by promoted columns.
   */
  promoted?: string
  /** A scheduled view's delta, hidden from readers until the view's next refresh. */
  pending?: boolean
}

export interface ConsumedSegment {
  key: string
  /** When the commit that consumed it was made; it may be deleted a grace period later. */
  at: number
  /**
   * Set for a segment too large to load (only a foreign writer makes one): it was not ingested
   * but quarantined in place, for this reason, and is kept — never garbage-collected — until an
   * operator replays and deletes it (docs/guarantees.md).
   */
  quarantined?: string
}

export interface CollectionState {
  files: DataFile[]
  consumed: ConsumedSegment[]
  /** Retention has dropped partitions ending at or before this time: rows before it may be gone. */
  expiredBefore?: number
}

export interface GarbageEntry {
  key: string
  since: number
  /** The manifest version whose commit stopped referencing it (absent in entries older versions wrote). */
  version?: number
}

/** A recompact request still being worked through, one partition at a time. */
export interface PendingRecompact {
  collection: string
  partitions: string[]
  requestedAt: number
  /**
   * A view's definition changed: its rows built under the old one are replaced even where the
   * source has expired (and so is not replaced with anything), never kept under the new one.
   */
  redefine?: boolean
  /** Files this request has already written for its first partition, which a rewrite in several steps skips. */
  written?: string[]
}

export interface PassSummary {
  at: number
  durationMs: number
  segmentsCompacted: number
  rowsCompacted: number
  filesWritten: number
  partitionsMerged: number
  partitionsRecompacted: number
  /** Partitions dropped because they were older than their retention. */
  partitionsExpired: number
  viewsRefreshed: number
  objectsDeleted: number
  casRetries: number
  ops: Record<string, number>
  backlogSegments: number
  done: boolean
  /** Tables that got a new Iceberg snapshot or metadata version in this pass. */
  tablesPublished?: number
  /** Why publishing the tables failed in this pass (the rest of the pass ran; the pass then threw it). */
  publishError?: string
}

/** A view's maintenance state. */
export interface ViewState {
  /** When a scheduled view last became current (engine clock, ms). */
  lastRefresh: number | null
  /** The definition its stored files were built from; another one queues a rebuild. */
  definition?: string
  /** When the schema stopped defining it; its files are dropped droppedViewGraceMs later. */
  dropped?: number
}

export interface Manifest {
  format: 1
  /** Bumped by every commit. */
  version: number
  updatedAt: number
  collections: Record<string, CollectionState>
  garbage: GarbageEntry[]
  recompact: PendingRecompact[]
  views?: Record<string, ViewState>
  /** Per collection, the data/ key the orphan sweep continues after ('' = from the start). */
  sweep?: Record<string, string>
  /** Written by earlier versions; the last pass now lives in its own object (lastPassKey). */
  lastPass?: PassSummary
  /** Collections and views published as Apache Iceberg tables (src/iceberg), by name. */
  tables?: Record<string, PublishedTable>
}

/** One Iceberg snapshot the store published and still retains. */
export interface PublishedSnapshot {
  id: number
  parentId?: number
  sequence: number
  /** When it was built (engine clock). */
  at: number
  /** The manifest version it was built from: it lists the files live in that version. */
  version: number
  schemaId: number
  /** The manifest-list and manifest objects it references. */
  manifestList: string
  manifests: string[]
  summary: Record<string, string>
}

/**
 * What the store has published of one table: enough to render its Iceberg metadata JSON again at any
 * time, and for garbage collection to keep every file a retained snapshot lists (safe-gc).
 */
export interface PublishedTable {
  uuid: string
  /** The metadata JSON version (`v<N>.metadata.json`) this state renders as. */
  version: number
  updatedAt: number
  lastSequence: number
  lastColumnId: number
  /** Field ids by column name and type, so an id is never reused for another column. */
  fieldIds: Record<string, number>
  /** Iceberg schemas, as the metadata JSON spells them (plain data owned by src/iceberg). */
  schemas: Record<string, unknown>[]
  currentSchemaId: number
  /** `schema.name-mapping.default`, JSON: our Parquet files carry no field ids, so readers map columns by name. */
  nameMapping: string
  /** The hour partition field's name and the id of the time column it reads. */
  partitionField: string
  partitionSourceId: number
  /** tableFingerprint of the files the current snapshot lists. */
  fingerprint: string
  /** Retained snapshots, oldest first; the last one is current. */
  snapshots: PublishedSnapshot[]
  /** Earlier metadata versions still kept (their JSON objects are deleted once they leave this list). */
  metadataLog: { version: number; at: number }[]
}

/**
 * Whether a garbage object may still be listed by a retained snapshot of its table: a snapshot built
 * from a manifest version before the one that dropped the object (for an entry without a version, one
 * built at or before it was dropped) may list it (safe-gc). `tablePrefix` maps a table to its files' prefix.
 */
export function heldBySnapshot(m: Manifest, g: GarbageEntry, tablePrefix: (table: string) => string): boolean {
  for (const [name, t] of Object.entries(m.tables ?? {})) {
    if (!g.key.startsWith(tablePrefix(name))) continue
    if (t.snapshots.some(s => (g.version === undefined ? s.at <= g.since : s.version < g.version))) return true
  }
  return false
}

/** A short digest of the files a table shows readers (pending view deltas are not shown). */
export function tableFingerprint(files: readonly DataFile[]): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193, n = 0
  for (const key of files.filter(f => !f.pending).map(f => f.key).sort()) {
    n++
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0
    }
    h1 = Math.imul(h1 ^ 10, 0x01000193) >>> 0
  }
  return `${n}-${h1.toString(16)}-${h2.toString(16)}`
}

export function emptyManifest(now: number): Manifest {
  return { format: 1, version: 0, updatedAt: now, collections: {}, garbage: [], recompact: [] }
}

export function collectionState(m: Manifest, name: string): CollectionState {
  return (m.collections[name] ??= { files: [], consumed: [] })
}

/** Keys the manifest still points at: live files and segments it consumed; the sweep must never touch these. */
export function referencedKeys(m: Manifest): Set<string> {
  const keys = new Set<string>()
  for (const c of Object.values(m.collections)) {
    for (const f of c.files) keys.add(f.key)
    for (const s of c.consumed) keys.add(s.key)
  }
  for (const g of m.garbage) keys.add(g.key)
  for (const t of Object.values(m.tables ?? {})) {
    for (const s of t.snapshots) for (const k of [s.manifestList, ...s.manifests]) keys.add(k)
  }
  return keys
}
