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

const TOKEN = /^[a-z0-9]{32}$/

/**
 * A batch's id, from its key: the key itself when it is already a 32-character token (the random
 * key bulkCreate makes, or db.tail's content digest: no hashing on the tail path), else the first
 * 32 hex digits of its SHA-256. A retry with the same key gets the same id, so its segments get
 * the same ids, and readers and the compactor count one segment per id (invariant exactly-once;
 * see pending.ts).
 */
export async function batchId(batchKey: string): Promise<string> {
  if (TOKEN.test(batchKey)) return batchKey
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(batchKey)))
  return [...digest.subarray(0, 16)].map(b => b.toString(16).padStart(2, '0')).join('')
}

/** The id of part `part` of a batch: its batch id (always 32 characters) and the part number. */
export function segmentId(batch: string, part: number): string {
  return `${batch}${part.toString(36)}`
}

/** A fresh random batch key, already a token. */
export function randomBatchKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return [...bytes].map(b => b.toString(16).padStart(2, '0')).join('')
}
