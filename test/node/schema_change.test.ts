import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { MemoryBucket, listAll } from '../../src/storage/index.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const HOUR = 3_600_000

describe('one row-normalization path: a WAL row reads the same before and after compaction', () => {
  it('after a field changes type (int → string), old rows are out of reads before compaction and after, and kept in quarantine', async () => {
    const bucket = new MemoryBucket()
    const v1 = DB({ Events: { at: 'timestamp!', code: 'int?', note: 'string?' } }, { storage: bucket, now: () => T0 })
    await v1.Events.bulkCreate([{ at: T0 + 1, code: 7, note: 'old' }, { at: T0 + 2, note: 'no code' }])
    let now = T0 + 1_000
    const v2 = DB({ Events: { at: 'timestamp!', code: 'string?', note: 'string?' } }, { storage: bucket, now: () => now })
    await v2.Events.bulkCreate([{ at: T0 + 3, code: 'E7', note: 'new' }])

    const notes = async () => (await v2.Events.find({}, { sort: { at: 1 } })).map(r => [r.note, r.code])
    const before = await notes()
    expect(before).toEqual([['no code', null], ['new', 'E7']])
    const q = v2.Events.find()
    await q
    expect(q.stats!.walLinesSkipped).toBe(1)

    now += 2 * HOUR
    await v2.compact()
    expect(await notes()).toEqual(before)
    const quarantined: string[] = []
    for await (const o of listAll(bucket, 'quarantine/Events/')) quarantined.push(await (await bucket.get(o.key))!.text())
    expect(quarantined.join('')).toMatch(/"note":"old"/)
    expect(quarantined.join('')).toMatch(/code: expected a string, got the number 7/)
  })
})
