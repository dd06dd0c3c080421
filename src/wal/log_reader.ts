import { type Bucket, listAll } from '../storage/index.js'
import type { WalRow } from './log_writer.js'
import { type SegmentRef, parseSegmentKey, walPrefix } from './segment_key.js'

export class WalCorruptError extends Error {
  override name = 'WalCorruptError'
  constructor(readonly key: string, readonly line: number, detail: string) {
    super(`WAL segment ${key} line ${line} is not valid JSON (${detail}); the compactor moves such segments to quarantine/`)
  }
}

/** Every segment of a collection currently in the bucket, oldest ingest first. */
export async function listSegments(bucket: Bucket, prefix: string, collection: string): Promise<SegmentRef[]> {
  const out: SegmentRef[] = []
  for await (const obj of listAll(bucket, walPrefix(prefix, collection))) {
    const ref = parseSegmentKey(prefix, collection, obj.key, obj.size)
    if (ref) out.push(ref)
  }
  return out
}

export function decodeSegment(key: string, text: string): WalRow[] {
  const rows: WalRow[] = []
  let lineNo = 0
  for (const line of text.split('\n')) {
    lineNo++
    if (!line) continue
    try {
      rows.push(JSON.parse(line) as WalRow)
    } catch (e) {
      throw new WalCorruptError(key, lineNo, (e as Error).message)
    }
  }
  return rows
}

/** Reads one segment; null if it is gone (deleted after compaction and the grace period). */
export async function readSegment(bucket: Bucket, ref: Pick<SegmentRef, 'key'>): Promise<WalRow[] | null> {
  const body = await bucket.get(ref.key)
  if (!body) return null
  return decodeSegment(ref.key, await body.text())
}

/**
 * The read side of the WAL: what is not yet compacted. Behind an interface so a
 * buffer that serves unflushed events can add its own rows.
 */
export interface WalTail {
  segments(collection: string): Promise<SegmentRef[]>
  read(ref: SegmentRef): Promise<WalRow[] | null>
}

export class R2WalTail implements WalTail {
  constructor(private readonly bucket: Bucket, private readonly prefix: string) {}
  segments(collection: string) {
    return listSegments(this.bucket, this.prefix, collection)
  }
  read(ref: SegmentRef) {
    return readSegment(this.bucket, ref)
  }
}
