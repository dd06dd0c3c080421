import type { Bucket } from '../storage/index.js'
import { createObject } from './create_object.js'

/** A rejected event (or WAL line) and why, kept so nothing is dropped silently. */
export interface QuarantineEntry {
  /** The event's index in its batch, or the line number in its WAL segment. */
  index: number
  reason: string
  event: unknown
  /** The WAL segment it came from, when compaction quarantined it. */
  segment?: string
}

/** Writes rejected events (or an unreadable segment's lines) under quarantine/ for inspection and replay. */
export async function writeQuarantine(
  bucket: Bucket, key: string, entries: readonly QuarantineEntry[],
): Promise<string> {
  await createObject(bucket, key, quarantineBody(entries))
  return key
}

/** The NDJSON a quarantine object holds: each entry with what JSON can say of its event. */
export function quarantineBody(entries: readonly QuarantineEntry[]): string {
  return entries.map(e => JSON.stringify({ ...e, event: safeJson(e.event) })).join('\n') + '\n'
}

/** A rejected event may be anything (that is why it was rejected): keep what JSON can say of it. */
function safeJson(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null')
  } catch {
    try {
      return String(v)
    } catch {
      return Object.prototype.toString.call(v)
    }
  }
}
