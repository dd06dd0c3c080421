import { describe, expect, it } from 'vitest'
import { DB, DBConfigError } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { MemoryBucket, listAll } from '../../src/storage/index.js'
import { TailEvents, WorkerErrors } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { canonical } from '../helpers/rows.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const D0 = Date.parse('2024-03-01T00:00:00Z')
const NOW = D0 + 4 * DAY + HOUR
const Daily = { $from: 'TailEvents', $groupBy: [{ day: '$eventTimestamp' }], $compute: { n: { $count: '*' } } }
const ByScript = { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $count: '*' } } }
const RETENTION = { TailEvents: '2 days', WorkerErrors: '1d' }

/** Kept: rows whose hour partition ends after the cutoff (partitions are dropped whole). */
const kept = (cutoff: number) => (t: Date | number) => Math.floor(+t / HOUR) * HOUR + HOUR > cutoff

describe('retention', () => {
  it('drops whole partitions past each collection and view retention; a view kept longer keeps its rows through a rebuild', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: NOW }
    const db = DB({ TailEvents, WorkerErrors, Daily, ByScript }, { storage: bucket, now: () => clock.now, retention: RETENTION })
    const events = makeEvents(800, { start: D0, spanMs: 4 * DAY + HOUR, seed: 5 })
    for (let i = 0; i < events.length; i += 100) await db.TailEvents.bulkCreate(events.slice(i, i + 100))
    // Before compaction everything is in the WAL, and visible: retention is applied by the pass.
    const allEvents = await db.TailEvents.find()
    const allErrors = await db.WorkerErrors.find()
    const daily = await db.Daily.find({}, { sort: { day: 1 } })
    expect(allEvents.length).toBe(800)
    expect(daily.length).toBe(5)

    const hours = (ts: (Date | number)[]) => new Set(ts.map(t => Math.floor(+t / HOUR))).size
    const pass = await db.compact()
    expect(pass.partitionsExpired).toBe(
      hours(allEvents.map(r => r.eventTimestamp).filter(t => !kept(NOW - 2 * DAY)(t)))
      + hours(allErrors.map(r => r.timestamp).filter(t => !kept(NOW - DAY)(t))))
    const tailKept = allEvents.filter(r => kept(NOW - 2 * DAY)(r.eventTimestamp))
    const errorsKept = allErrors.filter(r => kept(NOW - DAY)(r.timestamp))
    expect(tailKept.length).toBeGreaterThan(0)
    expect(tailKept.length).toBeLessThan(allEvents.length)
    expect(errorsKept.length).toBeGreaterThan(0)
    expect(canonical(await db.TailEvents.find())).toEqual(canonical(tailKept))
    expect(canonical(await db.WorkerErrors.find())).toEqual(canonical(errorsKept))
    // The aggregate has no retention: every day stays.
    expect(await db.Daily.find({}, { sort: { day: 1 } })).toEqual(daily)

    // A late event older than the retention is compacted and dropped again.
    await db.TailEvents.bulkCreate([{ ...events[0]!, eventTimestamp: new Date(D0 + 5 * 60_000) }])
    clock.now += 11 * 60_000
    const late = await db.compact()
    expect(late.rowsCompacted).toBe(1)
    expect(late.partitionsExpired).toBe(1)
    expect(canonical(await db.TailEvents.find())).toEqual(canonical(tailKept))
    // ...but the view kept longer counted it.
    const dailyNow = await db.Daily.find({}, { sort: { day: 1 } })
    expect(dailyNow.map(r => r.n)).toEqual(daily.map((r, i) => (r.n as number) + (i === 0 ? 1 : 0)))

    // After the grace period the dropped files are deleted: every stored object is referenced.
    clock.now += 11 * 60_000
    await db.compact()
    const { manifest } = await loadManifest(bucket, '', 0)
    const referenced = new Set(Object.values(manifest.collections).flatMap(c => c.files.map(f => f.key)))
    const stored: string[] = []
    for await (const o of listAll(bucket, 'data/')) stored.push(o.key)
    expect(stored.sort()).toEqual([...referenced].sort())
    expect(stored.some(k => k.includes('dt=2024-03-01'))).toBe(true) // Daily's first day
    expect(stored.filter(k => k.startsWith('data/TailEvents/')).every(k => !k.includes('dt=2024-03-01/') && !k.includes('dt=2024-03-02/'))).toBe(true)

    // Rebuilding every view cannot recompute days whose source rows are gone: those keep their rows.
    const rc = await db.recompact()
    expect(rc.remaining).toBe(0)
    expect(rc.partitions.Daily!.length).toBe(5)
    expect(await db.Daily.find({}, { sort: { day: 1 } })).toEqual(dailyNow)
    expect(canonical(await db.WorkerErrors.find())).toEqual(canonical(errorsKept))
    const byScript = await db.ByScript.find({}, { sort: { scriptName: 1 } })
    expect(byScript.reduce((n, r) => n + (r.n as number), 0)).toBe(801)

    // A compactor without the retention setting (the CLI, a setting changed later) learns from
    // the manifest what is gone, and keeps those rows too.
    const unaware = DB({ TailEvents, WorkerErrors, Daily, ByScript }, { storage: bucket, now: () => clock.now })
    await unaware.recompact()
    expect(await unaware.Daily.find({}, { sort: { day: 1 } })).toEqual(dailyNow)
    expect(await unaware.ByScript.find({}, { sort: { scriptName: 1 } })).toEqual(byScript)

    // A changed definition never keeps old rows: periods the source can no longer recompute go,
    // the rest (a partly expired day included) are recomputed from what is kept.
    const redefined = DB({
      TailEvents, WorkerErrors,
      Daily: { ...Daily, $filter: { outcome: 'ok' } },
      ByScript: { ...ByScript, $filter: { outcome: 'ok' } },
    }, { storage: bucket, now: () => clock.now, retention: RETENTION })
    await redefined.compact()
    const ok = await redefined.TailEvents.find({ outcome: 'ok' })
    const count = (key: (r: (typeof ok)[number]) => string) => {
      const m = new Map<string, number>()
      for (const r of ok) m.set(key(r), (m.get(key(r)) ?? 0) + 1)
      return [...m].sort(([a], [b]) => (a < b ? -1 : 1))
    }
    const day = (r: (typeof ok)[number]) => new Date(Math.floor(+r.eventTimestamp / DAY) * DAY).toISOString()
    expect((await redefined.Daily.find({}, { sort: { day: 1 } })).map(r => [(r.day as Date).toISOString(), r.n])).toEqual(count(day))
    expect((await redefined.ByScript.find({}, { sort: { scriptName: 1 } })).map(r => [r.scriptName, r.n])).toEqual(count(r => r.scriptName))
  })

  it('bad retention settings are errors at DB() naming the problem', () => {
    const make = (retention: Record<string, string | number>) => () => DB({ TailEvents }, { storage: { type: 'memory' }, retention })
    expect(make({ TailEvent: '1 day' })).toThrow(DBConfigError)
    expect(make({ TailEvent: '1 day' })).toThrow('retention.TailEvent: no collection or view of that name')
    expect(make({ TailEvents: 'a while' })).toThrow(`retention.TailEvents: "a while" is not a duration`)
    expect(make({ TailEvents: '30 minutes' })).toThrow('shorter than an hour')
    expect(make({ TailEvents: 60_000 })).toThrow('shorter than an hour')
    expect(make({ TailEvents: '1 year' })).not.toThrow()
    expect(make({ TailEvents: 2 * DAY })).not.toThrow()
  })
})
