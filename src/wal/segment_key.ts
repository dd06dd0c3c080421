/**
 * WAL segment keys: `<prefix>wal/<Collection>/<ingestMs>-<minEventMs>-<maxEventMs>-<id>.ndjson`.
 * Numbers are zero-padded to 15 digits so keys sort by ingest time, and the event-time
 * range rides in the key, so readers prune segments from a LIST without a GET.
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

const PAD = 15
const NAME = /^(\d{15})-(\d{15})-(\d{15})-([a-z0-9]+)\.ndjson$/

export function walPrefix(prefix: string, collection: string): string {
  return `${prefix}wal/${collection}/`
}

export function segmentKey(prefix: string, collection: string, ingestedAt: number, minTime: number, maxTime: number, id: string): string {
  return `${walPrefix(prefix, collection)}${pad(ingestedAt)}-${pad(minTime)}-${pad(maxTime)}-${id}.ndjson`
}

/** Parses a listed key; null for anything that is not a segment (stray uploads are ignored, not fatal). */
export function parseSegmentKey(prefix: string, collection: string, key: string, size: number): SegmentRef | null {
  const base = walPrefix(prefix, collection)
  if (!key.startsWith(base)) return null
  const m = NAME.exec(key.slice(base.length))
  if (!m) return null
  return { key, collection, ingestedAt: Number(m[1]), minTime: Number(m[2]), maxTime: Number(m[3]), id: m[4]!, size }
}

function pad(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`segment key times must be non-negative integers, got ${n}`)
  return String(n).padStart(PAD, '0')
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

/** The id part of a segment key (its last dash-separated field), or null for a foreign key. */
export function segmentIdOfKey(key: string): string | null {
  const m = /-([a-z0-9]+)\.ndjson$/.exec(key)
  return m ? m[1]! : null
}

export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return [...bytes].map(b => b.toString(36).padStart(2, '0')).join('').slice(0, 12)
}
