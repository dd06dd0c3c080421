import { type Bucket, listAll, walPrefix } from '../storage/index.js'
import { MAX_SEGMENT_READ_BYTES } from './limits.js'
import type { WalRow } from './log_writer.js'
import { type SegmentRef, segmentRef } from './segment_key.js'

/** A line of a segment that is not a row: unparseable JSON, or JSON that is not an object. */
export interface BadLine {
  /** 1-based line number in the segment. */
  line: number
  reason: string
  text: string
}

/** A segment's rows, and the lines that are not rows (kept apart, never fatal). */
export interface DecodedSegment {
  rows: WalRow[]
  bad: BadLine[]
}

/** Every segment of a collection currently in the bucket, oldest ingest first. */
export async function listSegments(bucket: Bucket, prefix: string, collection: string): Promise<SegmentRef[]> {
  const out: SegmentRef[] = []
  for await (const obj of listAll(bucket, walPrefix(prefix, collection))) {
    const ref = segmentRef(prefix, collection, obj.key, obj.size)
    if (ref) out.push(ref)
  }
  return out
}

/**
 * Splits a segment into rows and bad lines. Any line that is not a JSON object — `null`, a
 * number, an array, a cut-off write — is a bad line with its reason, so one corrupt line
 * never hides the rest of its segment nor stops a pass or a query (invariant nothing-dropped).
 */
export function decodeSegment(text: string): DecodedSegment {
  const rows: WalRow[] = []
  const bad: BadLine[] = []
  let lineNo = 0
  for (const line of text.split('\n')) {
    lineNo++
    if (!line) continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (e) {
      bad.push({ line: lineNo, reason: `not valid JSON (${(e as Error).message})`, text: line })
      continue
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
      bad.push({ line: lineNo, reason: `a row must be a JSON object, got ${what}`, text: line })
      continue
    }
    rows.push(value as WalRow)
  }
  return { rows, bad }
}

/** Whether a segment is small enough to load; larger ones only a foreign writer leaves. */
export function isReadableSegment(ref: Pick<SegmentRef, 'size'>): boolean {
  return ref.size <= MAX_SEGMENT_READ_BYTES
}

/** Reads one segment; null if it is gone (deleted after compaction and the grace period). */
export async function readSegment(bucket: Bucket, ref: Pick<SegmentRef, 'key'>): Promise<DecodedSegment | null> {
  const body = await bucket.get(ref.key)
  if (!body) return null
  return decodeSegment(await body.text())
}

/**
 * The read side of the WAL: what is not yet compacted. Behind an interface so a
 * buffer that serves unflushed events can add its own rows.
 */
export interface WalTail {
  segments(collection: string): Promise<SegmentRef[]>
  read(ref: SegmentRef): Promise<DecodedSegment | null>
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
