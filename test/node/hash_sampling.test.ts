import { describe, expect, it } from 'vitest'
import xxhash from 'xxhash-wasm'
import { DB } from '../../src/index.js'
import { canonicalText, compileExpression, loadHash } from '../../src/expr/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T00:00:00Z')

describe('$hash sampling', () => {
  it('hashes the canonical text with xxHash64: Dates as their epoch ms, objects with sorted keys', async () => {
    const hash = await loadHash()
    const api = await xxhash()
    expect(hash('')).toBe(0xef46db3751d8e999n) // xxHash64 reference value of the empty input, seed 0
    expect(hash(new Date(T0))).toBe(api.h64(String(T0)))
    expect(hash(new Date(T0))).toBe(hash(T0))
    expect(canonicalText({ b: 1, a: [true, null, new Date(5)] })).toBe('{"a":[true,null,5],"b":1}')
    expect(hash({ b: 1, a: 2 })).toBe(hash({ a: 2, b: 1 }))
    const ev = compileExpression({ $mod: [{ $hash: '$t' }, 10] }, { hash })
    expect(ev({ t: T0 })).toBe(Number(api.h64(String(T0)) & 0xfffffffffffffn) % 10)
  })

  it('the spec SampledRequests keeps ~90% ($expr keeps truthy rows); the documented form keeps ~10%; both deterministic', async () => {
    const events = makeEvents(10_000, { start: T0, spanMs: 24 * 3_600_000, seed: 99 })
    const make = () => DB({
      TailEvents,
      // As the spec writes it: a non-zero remainder is truthy, so 9 in 10 rows stay.
      SampledRequests: { $from: 'TailEvents', $filter: { $expr: { $mod: [{ $hash: '$eventTimestamp' }, 10] } } },
      // A 10% sample: keep the rows whose hash is 0 mod 10.
      TenPercent: { $from: 'TailEvents', $filter: { $expr: { $eq: [{ $mod: [{ $hash: '$eventTimestamp' }, 10] }, 0] } } },
    }, { storage: new MemoryBucket(), now: () => T0 + 25 * 3_600_000 })
    const runs = []
    for (let run = 0; run < 2; run++) {
      const db = make()
      for (let i = 0; i < events.length; i += 500) await db.TailEvents.bulkCreate(events.slice(i, i + 500))
      if (run === 1) await db.compact() // once from the WAL, once from Parquet
      const spec = await db.SampledRequests.find({}, { project: { eventTimestamp: 1 } })
      const ten = await db.TenPercent.find({}, { project: { eventTimestamp: 1 } })
      runs.push({ spec: spec.map(r => +(r.eventTimestamp as Date)).sort(), ten: ten.map(r => +(r.eventTimestamp as Date)).sort() })
    }
    const [a, b] = runs
    expect(Math.abs(a!.spec.length / 10_000 - 0.9)).toBeLessThanOrEqual(0.02)
    expect(Math.abs(a!.ten.length / 10_000 - 0.1)).toBeLessThanOrEqual(0.02)
    expect(a!.spec.length + a!.ten.length).toBe(10_000)
    expect(b).toEqual(a)
  })
})
