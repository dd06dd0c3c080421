import { parseSegmentKey } from '../storage/index.js'

/**
 * A listed WAL segment: its key (`storage/layout.ts` spells it), what the key says — ingest
 * time, event-time range (readers prune segments from a LIST without a GET), id — and its size.
 */
export interface SegmentRef {
  key: string
  collection: string
  ingestedAt: number
  minTime: number
  maxTime: number
  id: string
  size: number
}

/** A listed key as a segment; null for anything that is not one (stray uploads are ignored, not fatal). */
export function segmentRef(prefix: string, collection: string, key: string, size: number): SegmentRef | null {
  const name = parseSegmentKey(prefix, collection, key)
  return name ? { key, collection, size, ...name } : null
}

/**
 * The id of part `part` of a batch: derived from the batch's key, so a retry of the same batch
 * (same idempotency key) writes segments with the same ids, and readers and the compactor count
 * only one segment per id (invariant exactly-once; see pending.ts).
 */
export async function batchSegmentId(collection: string, batchKey: string, part: number): Promise<string> {
  const data = new TextEncoder().encode(`${collection}\u0000${batchKey}\u0000${part}`)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data))
  return [...digest.subarray(0, 10)].map(b => b.toString(16).padStart(2, '0')).join('')
}
