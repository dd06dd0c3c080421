import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T00:00:00Z')
const HOUR = 3_600_000

describe('a find sorted by time with a limit stops reading once it has enough', () => {
  it('reads only the files and segments that can hold the newest (or oldest) rows, and answers as a full sort', async () => {
    const bucket = new MemoryBucket()
    let now = T0 + 30 * HOUR
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    const events = makeEvents(2_400, { start: T0, spanMs: 24 * HOUR, seed: 3 })
    for (let i = 0; i < events.length; i += 100) await db.TailEvents.bulkCreate(events.slice(i, i + 100))
    await db.compact()
    now += HOUR
    // Some rows still in the WAL, the newest of them included.
    await db.TailEvents.bulkCreate(makeEvents(50, { start: T0 + 23 * HOUR, spanMs: HOUR, seed: 4 }))
    const all = await db.TailEvents.find({}, { project: { eventTimestamp: 1 } })
    const times = all.map(r => r.eventTimestamp.getTime())
    for (const dir of [1, -1] as const) {
      for (const [skip, limit] of [[0, 10], [5, 20], [0, 1]] as const) {
        const q = db.TailEvents.find({}, { sort: { eventTimestamp: dir }, skip, limit, project: { eventTimestamp: 1 } })
        const got = (await q).map(r => r.eventTimestamp.getTime())
        const want = [...times].sort((a, b) => (a - b) * dir).slice(skip, skip + limit)
        expect(got, `dir ${dir} skip ${skip} limit ${limit}`).toEqual(want)
        expect(q.stats!.filesRead, `dir ${dir}`).toBeLessThan(q.stats!.filesConsidered / 4)
      }
    }
    // Without a limit, or sorted by another field first, everything is read.
    const full = db.TailEvents.find({}, { sort: { scriptName: 1, eventTimestamp: -1 }, limit: 5 })
    await full
    expect(full.stats!.filesRead).toBe(full.stats!.filesConsidered)
  })

  it('inside a file, reads the row groups from the end it wants and skips those beyond its bound', async () => {
    const bucket = new MemoryBucket()
    const now = T0 + 3 * HOUR
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    const events = makeEvents(2_000, { start: T0, spanMs: HOUR, seed: 8 })
    for (let i = 0; i < events.length; i += 200) await db.TailEvents.bulkCreate(events.slice(i, i + 200))
    await db.compact({ rowGroupRows: 100, timeBudgetMs: 600_000 })
    const times = events.map(e => +e.eventTimestamp)
    for (const dir of [1, -1] as const) {
      const q = db.TailEvents.find({}, { sort: { eventTimestamp: dir }, limit: 30, project: { eventTimestamp: 1 } })
      const got = (await q).map(r => +r.eventTimestamp)
      expect(got).toEqual([...times].sort((a, b) => (a - b) * dir).slice(0, 30))
      expect(q.stats!.filesRead).toBe(1)
      expect(q.stats!.rowGroupsConsidered).toBeGreaterThanOrEqual(20)
      // One group holds the 30 rows; another may be read ahead before the bound is known.
      expect(q.stats!.rowGroupsRead, `dir ${dir}`).toBeLessThanOrEqual(2)
    }
  })
})
