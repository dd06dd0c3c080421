import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

describe('smoke', () => {
  it('writes, compacts, reads back', async () => {
    let now = Date.parse('2024-01-15T12:00:00Z')
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => now })
    const events = makeEvents(500, { start: Date.parse('2024-01-15T09:00:00Z'), spanMs: 3 * 3600_000 })
    for (let i = 0; i < events.length; i += 50) {
      const r = await db.TailEvents.bulkCreate(events.slice(i, i + 50))
      expect(r.written).toBe(50)
    }
    expect((await db.TailEvents.all()).length).toBe(500)
    const pass = await db.compact()
    console.log(pass)
    expect((await db.TailEvents.all()).length).toBe(500)
    now += 3600_000 * 2
    const pass2 = await db.compact()
    console.log(pass2, await db.status())
    const rows = await db.TailEvents.all()
    expect(rows.length).toBe(500)
  })
})
