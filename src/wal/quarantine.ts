import type { Bucket } from '../storage/index.js'
import { createObject } from './create_object.js'
import { WalWriteError } from './write_error.js'
import { randomId } from './segment_key.js'

/** A rejected event and why, kept so nothing is dropped silently. */
export interface QuarantineEntry {
  index: number
  reason: string
  event: unknown
}

export function quarantinePrefix(prefix: string, collection: string): string {
  return `${prefix}quarantine/${collection}/`
}

/** Writes rejected events (or an unreadable segment) under quarantine/ for inspection and replay. */
export async function writeQuarantine(bucket: Bucket, prefix: string, collection: string, now: number, entries: QuarantineEntry[]): Promise<string> {
  const body = entries.map(e => JSON.stringify({ index: e.index, reason: e.reason, event: safeJson(e.event) })).join('\n') + '\n'
  const size = new TextEncoder().encode(body).byteLength
  for (let attempt = 0; attempt < 3; attempt++) {
    const key = `${quarantinePrefix(prefix, collection)}${String(Math.trunc(now)).padStart(15, '0')}-${randomId()}.ndjson`
    if (await createObject(bucket, key, body, size)) return key
  }
  throw new WalWriteError(`could not write a quarantine segment for ${collection}: three key collisions in a row`)
}

function safeJson(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null')
  } catch {
    return String(v)
  }
}
