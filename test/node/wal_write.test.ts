import { describe, expect, it } from 'vitest'
import { DB, WalWriteError } from '../../src/index.js'
import { type Bucket, type BucketPutOptions, MemoryBucket, listAll } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')

/** R2 answering the first `failures` PUTs under `prefix` with an error, before or after storing the object. */
class FlakyPuts extends MemoryBucket {
  attempts = 0
  constructor(private readonly prefix: string, private readonly failures: number, private readonly storeFirst: boolean) { super() }
  override async put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions) {
    if (!key.startsWith(this.prefix)) return super.put(key, value, options)
    this.attempts++
    if (this.attempts > this.failures) return super.put(key, value, options)
    if (this.storeFirst) await super.put(key, value, options)
    throw new Error('We encountered an internal error. Please try again. (10001)')
  }
}

async function keys(bucket: Bucket, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const o of listAll(bucket, prefix)) out.push(o.key)
  return out
}

describe('WAL writes survive transient storage errors', () => {
  it('an error before the segment is stored: retried, stored once', async () => {
    const bucket = new FlakyPuts('wal/', 2, false)
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const r = await db.TailEvents.bulkCreate(makeEvents(20, { start: T0, spanMs: 60_000 }))
    expect(r.written).toBe(20)
    expect(bucket.attempts).toBe(3)
    expect(await keys(bucket, 'wal/')).toEqual([r.segment])
    expect((await db.TailEvents.find()).length).toBe(20)
  })

  it('a lost response (stored, then an error): the retry finds it, and no second copy is made', async () => {
    const bucket = new FlakyPuts('wal/', 1, true)
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const r = await db.TailEvents.bulkCreate(makeEvents(20, { start: T0, spanMs: 60_000 }))
    expect(r.written).toBe(20)
    expect(await keys(bucket, 'wal/')).toEqual([r.segment])
    expect((await db.TailEvents.find()).length).toBe(20)
    await db.compact()
    expect((await db.TailEvents.find()).length).toBe(20)
  })

  it('quarantine writes retry the same way', async () => {
    const bucket = new FlakyPuts('quarantine/', 1, true)
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const r = await db.TailEvents.bulkCreate([{ scriptName: 'x', outcome: 'ok' } as never, ...makeEvents(2, { start: T0, spanMs: 60_000 })])
    expect(r.written).toBe(2)
    expect(await keys(bucket, 'quarantine/')).toEqual([r.quarantine])
  })

  it('an outage longer than the retries rejects bulkCreate with the cause, and stores nothing', async () => {
    const bucket = new FlakyPuts('wal/', Infinity, false)
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 })
    const write = db.TailEvents.bulkCreate(makeEvents(5, { start: T0, spanMs: 60_000 }))
    await expect(write).rejects.toThrow(WalWriteError)
    await expect(write).rejects.toThrow(/after 4 attempts: We encountered an internal error/)
    expect(bucket.attempts).toBe(4)
    expect(await keys(bucket, 'wal/')).toEqual([])
  })
})
