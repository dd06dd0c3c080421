import { type Manifest, type PassSummary, loadManifest, readLastPass, tableFingerprint } from '../manifest/index.js'
import type { CollectionSchema } from '../schema/index.js'
import { type Bucket, CountingBucket, type OpCounts } from '../storage/index.js'
import { listSegments, pendingSegments } from '../wal/index.js'
import type { ViewPlan } from '../mv/index.js'
import type { ShardStatus } from '../ingest/index.js'

/** A collection or view published as an Iceberg table (the `iceberg` option). */
export interface TableStatus {
  /** The metadata version readers find (`v<N>.metadata.json`). */
  version: number
  snapshotId: number | null
  publishedAt: Date | null
  /** Whether the newest snapshot lists exactly the live files (the WAL tail is never in the table). */
  current: boolean
  /** 0 when current, else how long ago the newest snapshot was taken: an upper bound on its lag. */
  behindMs: number
}

export interface CollectionStatus {
  /** Its Iceberg table, or null when it is not published. */
  table: TableStatus | null
  files: number
  l0Files: number
  bytes: number
  rows: number
  partitions: number
  oldest: Date | null
  newest: Date | null
  wal: {
    /** Segments not yet compacted. */
    segments: number
    bytes: number
    /** Age of the oldest uncompacted segment, ms; 0 when there is none. */
    oldestAgeMs: number
    /** Compacted segments still kept for the grace period. */
    awaitingDeletion: number
    /**
     * Segments too large to load (only a foreign writer makes them), kept where they are and
     * left out of every read: replay their rows with bulkCreate, then delete them (docs/guarantees.md).
     */
    quarantinedInPlace: string[]
  }
}

export interface ViewStatus {
  table: TableStatus | null
  files: number
  bytes: number
  rows: number
  partitions: number
  refresh: 'streaming' | 'scheduled'
  /** Scheduled views: when the last refresh made them current. */
  lastRefresh: Date | null
  /** Scheduled views: compacted deltas waiting for the next refresh. */
  pendingFiles: number
  /** Partitions queued for a rebuild (backfill or recompact). */
  rebuilding: number
}

export interface DBStatus {
  manifestVersion: number
  /** Size of the manifest, which every query reads and every pass step rewrites. */
  manifestBytes: number
  updatedAt: Date | null
  collections: Record<string, CollectionStatus>
  views: Record<string, ViewStatus>
  lastPass: PassSummary | null
  pendingRecompact: number
  garbage: number
  /** R2 operations this status call made. */
  ops: OpCounts
  /** With `ingest.buffer`: what the shards hold that is not yet in a stored WAL segment. */
  buffers?: BufferStatus
}

export interface BufferStatus {
  events: number
  bytes: number
  /** Age of the oldest unflushed event over all shards, ms; 0 when there is none. */
  oldestAgeMs: number
  shards: ShardStatus[]
}

export function bufferStatus(shards: ShardStatus[]): BufferStatus {
  return {
    events: shards.reduce((n, s) => n + s.events, 0),
    bytes: shards.reduce((n, s) => n + s.bytes, 0),
    oldestAgeMs: shards.reduce((n, s) => Math.max(n, s.oldestAgeMs), 0),
    shards,
  }
}

/** The engine's own health: backlog, files, the last pass. One GET plus a LIST per collection. */
export async function readStatus(
  raw: Bucket, prefix: string, collections: CollectionSchema[], now: number, views: readonly ViewPlan[] = [],
): Promise<DBStatus> {
  const bucket = new CountingBucket(raw)
  const { manifest, etag } = await loadManifest(bucket, prefix, now)
  const manifestBytes = bucket.ops.bytesRead
  const out: DBStatus = {
    manifestVersion: manifest.version,
    manifestBytes,
    updatedAt: etag ? new Date(manifest.updatedAt) : null,
    collections: {},
    views: {},
    lastPass: (await readLastPass(bucket, prefix)) ?? manifest.lastPass ?? null,
    pendingRecompact: manifest.recompact.reduce((n, r) => n + r.partitions.length, 0),
    garbage: manifest.garbage.length,
    ops: bucket.ops,
  }
  for (const schema of collections) {
    out.collections[schema.name] = await collectionStatus(bucket, prefix, manifest, schema, now)
  }
  for (const v of views) {
    const files = manifest.collections[v.name]?.files ?? []
    const visible = files.filter(f => !f.pending)
    const last = manifest.views?.[v.name]?.lastRefresh ?? null
    out.views[v.name] = {
      table: tableStatus(manifest, v.name, now),
      files: files.length,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      rows: visible.reduce((n, f) => n + f.rows, 0),
      partitions: new Set(files.map(f => f.partition)).size,
      refresh: v.refresh.mode,
      lastRefresh: last === null ? null : new Date(last),
      pendingFiles: files.length - visible.length,
      rebuilding: manifest.recompact.filter(r => r.collection === v.name).reduce((n, r) => n + r.partitions.length, 0),
    }
  }
  return out
}

async function collectionStatus(
  bucket: Bucket, prefix: string, m: Manifest, schema: CollectionSchema, now: number,
): Promise<CollectionStatus> {
  const state = m.collections[schema.name] ?? { files: [], consumed: [] }
  const segs = await listSegments(bucket, prefix, schema.name)
  const { pending } = pendingSegments(segs, state.consumed.map(c => c.key))
  const oldest = pending.reduce((t, s) => Math.min(t, s.ingestedAt), Infinity)
  const minTime = state.files.reduce((t, f) => Math.min(t, f.minTime), Infinity)
  const maxTime = state.files.reduce((t, f) => Math.max(t, f.maxTime), -Infinity)
  return {
    table: tableStatus(m, schema.name, now),
    files: state.files.length,
    l0Files: state.files.filter(f => f.level === 0).length,
    bytes: state.files.reduce((n, f) => n + f.bytes, 0),
    rows: state.files.reduce((n, f) => n + f.rows, 0),
    partitions: new Set(state.files.map(f => f.partition)).size,
    oldest: Number.isFinite(minTime) ? new Date(minTime) : null,
    newest: Number.isFinite(maxTime) ? new Date(maxTime) : null,
    wal: {
      segments: pending.length,
      bytes: pending.reduce((n, s) => n + s.size, 0),
      oldestAgeMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
      awaitingDeletion: segs.length - pending.length,
      quarantinedInPlace: state.consumed.filter(c => c.quarantined).map(c => c.key),
    },
  }
}

function tableStatus(m: Manifest, name: string, now: number): TableStatus | null {
  const t = m.tables?.[name]
  if (!t) return null
  const snap = t.snapshots.at(-1)
  const current = t.fingerprint === tableFingerprint(m.collections[name]?.files ?? [])
  return {
    version: t.version, snapshotId: snap?.id ?? null, publishedAt: snap ? new Date(snap.at) : null, current,
    behindMs: current || !snap ? 0 : Math.max(0, now - snap.at),
  }
}
