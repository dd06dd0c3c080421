import type { Bucket } from '../storage/index.js'
import { createObject } from './create_object.js'
import { randomId, segmentKey } from './segment_key.js'
import { WalWriteError } from './write_error.js'


/** Rows already validated and normalized (plain JSON, timestamps in ms). */
export type WalRow = Record<string, unknown>

export interface AppendResult {
  key: string
  rows: number
  bytes: number
}

/**
 * The write side of the WAL behind an interface, so a buffering writer (a Durable
 * Object that coalesces many tail() calls into one segment) can replace it.
 */
export interface WalWriter {
  append(collection: string, rows: WalRow[], timeField: string): Promise<AppendResult>
}

export function encodeSegment(rows: WalRow[]): string {
  return rows.map(r => JSON.stringify(r)).join('\n') + '\n'
}

/** One batch → one immutable NDJSON object, written with a single create-if-absent PUT. */
export class R2WalWriter implements WalWriter {
  constructor(
    private readonly bucket: () => Promise<Bucket>,
    private readonly prefix: string,
    private readonly now: () => number,
  ) {}

  async append(collection: string, rows: WalRow[], timeField: string): Promise<AppendResult> {
    if (rows.length === 0) throw new WalWriteError('append() needs at least one row')
    let min = Infinity
    let max = -Infinity
    for (const r of rows) {
      const t = r[timeField] as number
      if (t < min) min = t
      if (t > max) max = t
    }
    const body = encodeSegment(rows)
    const size = new TextEncoder().encode(body).byteLength
    const bucket = await this.bucket()
    // A collision on a random 12-character id is practically impossible, but a
    // create-if-absent put makes it safe rather than a silent overwrite.
    for (let attempt = 0; attempt < 3; attempt++) {
      const key = segmentKey(this.prefix, collection, Math.max(0, Math.trunc(this.now())), min, max, randomId())
      const stored = await createObject(bucket, key, body, size)
      if (stored) return { key, rows: rows.length, bytes: size }
    }
    throw new WalWriteError(`could not write a WAL segment for ${collection}: three key collisions in a row`)
  }
}
