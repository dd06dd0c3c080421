import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import xxhash from 'xxhash-wasm'
import { DB } from '../../src/index.js'
import { loadHash } from '../../src/expr/index.js'
import { TailEvents, WorkerErrors, WorkerRequests } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T00:00:00Z')

describe('views and $hash inside workerd', () => {
  it('xxhash loads as a wasm module in workerd and hashes the canonical text', async () => {
    const hash = await loadHash()
    expect(hash('')).toBe(0xef46db3751d8e999n)
    const api = await xxhash()
    expect(hash(new Date(T0))).toBe(api.h64(String(T0)))
  })

  it('streaming, aggregating and sampled views over R2, compacted and from the WAL', async () => {
    const db = DB({
      TailEvents, WorkerErrors, WorkerRequests,
      PerScript: { $from: 'WorkerRequests', $groupBy: ['scriptName', { hour: '$timestamp' }], $compute: { n: { $count: '*' }, p50: { $percentile: ['status', 0.5] } } },
      TenPercent: { $from: 'TailEvents', $filter: { $expr: { $eq: [{ $mod: [{ $hash: '$eventTimestamp' }, 10] }, 0] } } },
    }, { storage: { type: 'r2', bucket: env.PARQUEDB }, prefix: 'views', now: () => T0 + 5 * 3_600_000 })
    const events = makeEvents(400, { start: T0, spanMs: 4 * 3_600_000, seed: 4 })
    await db.TailEvents.bulkCreate(events.slice(0, 200))
    await db.compact()
    await db.TailEvents.bulkCreate(events.slice(200))
    const errors = await db.WorkerErrors.find()
    expect(errors.length).toBe(events.filter(e => e.outcome !== 'ok' || (e.exceptions?.length ?? 0) > 0).length)
    const per = await db.PerScript.find()
    expect(per.reduce((n, r) => n + (r.n as number), 0)).toBe(events.length)
    const api = await xxhash()
    const sampled = await db.TenPercent.find({}, { project: { eventTimestamp: 1 } })
    const expected = events.map(e => +new Date(e.eventTimestamp)).filter(ms => (api.h64(String(ms)) & 0xfffffffffffffn) % 10n === 0n).sort()
    expect(sampled.map(r => +(r.eventTimestamp as Date)).sort()).toEqual(expected)
  })
})
