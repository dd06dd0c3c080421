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
  return keys
}
