import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { TailEvents, type TailEventInput } from '../../src/tail/index.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')

function event(i: number, over: Partial<TailEventInput>): TailEventInput {
  return {
    scriptName: 'w', outcome: 'ok', eventTimestamp: new Date(T0 + 1000 + i * 1000),
    event: { request: { url: 'https://plain.example/', method: 'GET', cf: { colo: 'DFW' } }, response: { status: 200 } },
    logs: [], exceptions: [], diagnosticsChannelEvents: [], scriptTags: [],
    ...over,
  } as TailEventInput
}

/**
 * A nested value the promoted column cannot hold, each beside a filter that reaches it
 * MongoDB-style. Every file also holds ordinary rows, whose statistics alone would rule it out.
 */
const CASES: [string, Partial<TailEventInput>, Record<string, unknown>][] = [
  ['array in the middle of the path', { event: { request: [{ url: 'x' }] } }, { 'event.request.url': 'x' }],
  ['array in the middle, range filter', { event: { request: [{ url: 'a' }, { url: 'zz' }] } }, { 'event.request.url': { $gt: 'z' } }],
  ['array at the leaf', { event: { request: { url: ['x', 'y'] } } }, { 'event.request.url': 'y' }],
  ['array deeper in the middle', { event: { request: { cf: [{ colo: 'LHR' }] } } }, { 'event.request.cf.colo': 'LHR' }],
  ['array at the root of the path', { event: [{ response: { status: 503 } }] as never }, { 'event.response.status': 503 }],
  ['numeric index into an array of arrays', { outcome: 'exception', exceptions: [[{ name: 'E', message: 'nested' }]] as never }, { 'exceptions.0.message': 'nested' }],
  ['numeric index path with an array leaf', { outcome: 'exception', exceptions: [{ name: ['A', 'B'], message: 'm' }] as never }, { 'exceptions.0.name': 'B' }],
  ['another type (string in an int column)', { event: { response: { status: '503' } } }, { 'event.response.status': '503' }],
]

describe('promoted paths through arrays give one answer before and after compaction', () => {
  it.each(CASES)('%s', async (_name, odd, filter) => {
    const clock = { now: T0 + 20 * 60_000 }
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => clock.now })
    const ordinary = [0, 1, 2].map(i => event(i, {}))
    const r = await db.TailEvents.bulkCreate([...ordinary, event(3, odd)])
    expect(r.rejected).toEqual([])
    const ts = async () => (await db.TailEvents.find(filter)).map(e => e.eventTimestamp.getTime())
    const inWal = await ts()
    expect(inWal).toEqual([T0 + 4000])
    // L0, then a second L0 file (ordinary rows only) and their merge into one L1 file.
    await db.compact()
    expect((await db.status()).collections.TailEvents!.wal.segments).toBe(0)
    expect(await ts()).toEqual(inWal)
    await db.TailEvents.bulkCreate([event(4, {})])
    clock.now += 2 * HOUR
    const pass = await db.compact()
    expect(pass.partitionsMerged).toBe(1)
    expect(await ts()).toEqual(inWal)
    // Row-group statistics are not trusted either: one-row groups, each judged alone.
    await db.recompact({ collections: ['TailEvents'] })
    await db.compact({ rowGroupRows: 1 })
    expect(await ts()).toEqual(inWal)
  })

  it('ordinary rows still prune on the promoted column', async () => {
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 + 3 * HOUR })
    await db.TailEvents.bulkCreate([0, 1, 2].map(i => event(i, {})))
    await db.compact()
    const q = db.TailEvents.find({ 'event.request.url': 'x' })
    expect(await q).toEqual([])
    expect(q.stats!.filesRead).toBe(0)
  })
})
