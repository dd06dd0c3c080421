import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { DB, ExprError } from '../../src/index.js'
import { compileFilter } from '../../src/expr/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T00:00:00Z')

describe('filters on hostile input inside workerd', () => {
  it('$regex runs on RE2 here too: (a+)+$ on 40 and 10,000 characters, and refusals at compile time', () => {
    const p = compileFilter({ s: { $regex: '(a+)+$' } })
    for (const n of [40, 10_000]) {
      const t0 = Date.now()
      expect(p({ s: 'a'.repeat(n) + '!' })).toBe(false)
      expect(p({ s: 'b' + 'a'.repeat(n) })).toBe(true)
      // workerd's clock moves only on I/O; this guards against a hang, the node tests time it.
      expect(Date.now() - t0).toBeLessThan(1_000)
    }
    expect(() => compileFilter({ s: /(a)\1/ })).toThrow(ExprError)
  })

  it('find() over R2 with own-property paths, a RegExp and a 100,000-value $in', async () => {
    const db = DB({ TailEvents }, {
      storage: { type: 'r2', bucket: env.PARQUEDB }, prefix: 'regex-1', now: () => T0 + 3 * 3_600_000,
    })
    const events = makeEvents(200, { start: T0, spanMs: 3_600_000, seed: 2 })
    await db.TailEvents.bulkCreate(events)
    await db.compact()
    expect((await db.TailEvents.find({ 'event.constructor': { $exists: true } })).length).toBe(0)
    expect((await db.TailEvents.find({ 'event.toString': { $exists: true } })).length).toBe(0)
    const users = events.filter(e => /\/users\?/.test(JSON.stringify(e.event))).length
    expect(users).toBeGreaterThan(0)
    expect((await db.TailEvents.find({ 'event.request.url': /\/USERS\?/i })).length).toBe(users)
    const list = [...Array.from({ length: 99_999 }, (_, i) => `w-${i}`), 'api-worker']
    const want = events.filter(e => e.scriptName === 'api-worker').length
    expect((await db.TailEvents.find({ scriptName: { $in: list } })).length).toBe(want)
  })
})
