import { parquetMetadata } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { type Bucket, DEFAULT_COMPACTION, MemoryBucket } from '../../src/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const MINUTE = 60_000
const HOUR = 60 * MINUTE

/**
 * The steady state the cron sees: events every minute for 80 minutes (one hour whole, the next
 * begun), a pass a minute, then quiet. Every Parquet file a pass writes is counted with its rows.
 */
async function steadyState(compaction: Record<string, number> = {}) {
  const bucket = new MemoryBucket()
  const written = { files: 0, rows: 0, bytes: 0 }
  const watched: Bucket = Object.assign(Object.create(bucket) as Bucket, {
    put: async (key: string, value: Uint8Array | string, options?: never) => {
      if (key.startsWith('data/') && typeof value !== 'string') {
        written.files++
        written.bytes += value.byteLength
        written.rows += Number(parquetMetadata(value.slice().buffer).num_rows)
      }
      return bucket.put(key, value, options)
    },
  })
  let clock = T0
  const db = DB({ TailEvents }, { storage: watched, now: () => clock, compaction })
  // The most objects (files and WAL segments) a one-hour find over the active hour opened.
  let maxOpened = 0
  const times: number[] = []
  for (let minute = 0; minute < 80; minute++) {
    const events = makeEvents(120, { start: clock, spanMs: MINUTE, seed: minute })
    for (let i = 0; i < events.length; i += 40) await db.TailEvents.bulkCreate(events.slice(i, i + 40))
    times.push(...events.map(e => +e.eventTimestamp))
    clock += MINUTE
    await db.compact()
    if (minute % 3) continue
    // Read-your-writes: every acknowledged event is there, wherever it is (WAL or Parquet).
    const q = db.TailEvents.find({ eventTimestamp: { $gte: new Date(clock - HOUR), $lt: new Date(clock) } })
    expect((await q).length).toBe(times.filter(t => t >= clock - HOUR && t < clock).length)
    maxOpened = Math.max(maxOpened, q.stats!.filesRead + q.stats!.segmentsRead)
  }
  // Quiet: passes go on until both hours have their final file.
  for (const end = T0 + 2 * HOUR + DEFAULT_COMPACTION.quietAfterMs; clock <= end; clock += 5 * MINUTE) await db.compact()
  const files = (await loadManifest(bucket, '', clock)).manifest.collections.TailEvents!.files
  const kept = { rows: files.reduce((n, f) => n + f.rows, 0), bytes: files.reduce((n, f) => n + f.bytes, 0) }
  expect(kept.rows).toBe(80 * 120)
  return {
    rowsWrittenPerRow: written.rows / kept.rows, bytesWrittenPerByte: written.bytes / kept.bytes, maxOpened,
    files: files.length,
  }
}

describe('write amplification in the steady state (a pass a minute)', () => {
  it('the WAL holds active hours a few minutes: each row is written under 2.7 times, its bytes under 3', async () => {
    const held = await steadyState()
    // An L0 file holds about holdWalMs of rows, so an active hour has 15 of them, not 60; a merge at
    // maxL0Files rewrites about half the hour before its final merge (1 + 8/15 + 1 writes a row).
    expect(held.rowsWrittenPerRow).toBeLessThan(2.7)
    expect(held.bytesWrittenPerByte).toBeLessThan(3)
    expect(held.files).toBe(2) // one final file per hour
    // A one-hour find over the active hour opens at most maxL0Files L0 files, the hour's L1 pieces
    // and the held segments (three a minute here, over holdWalMs and the minute since the pass).
    const minutesHeld = DEFAULT_COMPACTION.holdWalMs / MINUTE + 1
    expect(held.maxOpened).toBeLessThanOrEqual(DEFAULT_COMPACTION.maxL0Files + 4 + 3 * minutesHeld)

    // Folding the WAL every pass writes one small L0 file a minute, and nearly every row three times.
    const every = await steadyState({ holdWalMs: 0 })
    expect(every.rowsWrittenPerRow).toBeGreaterThan(2.85)
    expect(every.bytesWrittenPerByte).toBeGreaterThan(held.bytesWrittenPerByte + 0.4)
  })
})
