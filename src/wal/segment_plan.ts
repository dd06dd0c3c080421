import { PARTITION_MS } from '../storage/index.js'
import { MAX_SEGMENT_BYTES, MAX_SEGMENT_PARTITIONS } from './limits.js'

/** A row ready for the WAL: its JSON line, its event time and the line's UTF-8 size. */
export interface EncodedRow {
  line: string
  time: number
  bytes: number
}

/** The rows of one segment and their event-time range (which its key carries). */
export interface SegmentPlan {
  rows: EncodedRow[]
  minTime: number
  maxTime: number
  bytes: number
}

/**
 * Cuts a batch into segments of at most MAX_SEGMENT_BYTES and MAX_SEGMENT_PARTITIONS hour
 * partitions each (invariant bounded-work). A tail batch is almost always one hour and a few
 * KB: one segment, one PUT. Rows are grouped by hour (stable, so a batch's order holds within
 * an hour), and the cut is a pure function of the rows, so a retried batch is cut the same way
 * and its parts get the same ids.
 */
export function planSegments(rows: readonly EncodedRow[]): SegmentPlan[] {
  const sorted = rows.map((row, i) => ({ row, i, hour: Math.floor(row.time / PARTITION_MS) }))
    .sort((a, b) => a.hour - b.hour || a.i - b.i)
  const plans: SegmentPlan[] = []
  let cur: SegmentPlan | null = null
  let hours = 0
  let lastHour = NaN
  for (const { row, hour } of sorted) {
    const newHour = hour !== lastHour
    const full = cur && (cur.bytes + row.bytes + 1 > MAX_SEGMENT_BYTES || (newHour && hours >= MAX_SEGMENT_PARTITIONS))
    if (!cur || full) {
      cur = { rows: [], minTime: Infinity, maxTime: -Infinity, bytes: 0 }
      plans.push(cur)
      hours = 0
      lastHour = NaN
    }
    if (hour !== lastHour) { hours++; lastHour = hour }
    cur.rows.push(row)
    cur.bytes += row.bytes + 1
    if (row.time < cur.minTime) cur.minTime = row.time
    if (row.time > cur.maxTime) cur.maxTime = row.time
  }
  return plans
}
