import { segmentIdOfKey } from '../storage/index.js'
import type { SegmentRef } from './segment_key.js'

export interface PendingSegments {
  /** Segments still to be compacted, oldest ingest first: each holds rows no file holds yet. */
  pending: SegmentRef[]
  /**
   * Retries of a batch the manifest has already consumed (their id is consumed): never read, and
   * marked consumed by the next ingest step so garbage collection deletes them.
   */
  duplicates: SegmentRef[]
  /**
   * Retries of a batch whose first segment is still pending: never read, and marked consumed only
   * in the step that ingests that first segment — consumed earlier, their id would make the first
   * one look like a duplicate of them.
   */
  retries: SegmentRef[]
}

/**
 * The WAL tail as one manifest version sees it: listed segments it has not consumed, one per
 * segment id (invariant exactly-once). Segment ids derive from the batch's idempotency key, so
 * a retried batch writes a second segment with the same id; of all segments with an id, only the
 * first by key order counts, and none once the manifest has consumed one. Readers and the
 * compactor both call this, so a retry is invisible before and after compaction alike.
 */
export function pendingSegments(listed: readonly SegmentRef[], consumedKeys: Iterable<string>): PendingSegments {
  const consumed = new Set(consumedKeys)
  const consumedIds = new Set<string>()
  for (const key of consumed) {
    const id = segmentIdOfKey(key)
    if (id) consumedIds.add(id)
  }
  const pendingIds = new Set<string>()
  const out: PendingSegments = { pending: [], duplicates: [], retries: [] }
  for (const seg of [...listed].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (consumed.has(seg.key)) continue
    if (consumedIds.has(seg.id)) out.duplicates.push(seg)
    else if (pendingIds.has(seg.id)) out.retries.push(seg)
    else { pendingIds.add(seg.id); out.pending.push(seg) }
  }
  return out
}
