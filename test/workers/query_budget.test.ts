import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { QueryLimitError } from '../../src/query/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')

describe('query budget inside workerd', () => {
  it('joins, held rows and time are bounded; REGEXP_MATCHES runs on RE2', async () => {
    const db = DB({ TailEvents }, {
      storage: { type: 'r2', bucket: env.PARQUEDB }, prefix: 'budget-1', now: () => T0 + 3 * 3_600_000, query: { maxRows: 500 },
    })
    const events = makeEvents(600, { start: T0, spanMs: 3 * 3_600_000 })
    await db.TailEvents.bulkCreate(events)
    await db.compact()
    const join = (sql: typeof db.sql) => sql`SELECT COUNT(*) AS n FROM TailEvents a JOIN TailEvents b ON a.eventTimestamp < b.eventTimestamp`

    // Counted limits stop at the same row wherever they run.
    await expect(join(db.sql.with({ maxJoinPairs: 6_000, maxRows: Infinity }))).rejects.toMatchObject({ name: 'QueryLimitError', limit: 'maxJoinPairs' })
    await expect(db.TailEvents.find()).rejects.toMatchObject({ limit: 'maxRows', value: 500 })
    // The row engine holds every row it groups; the columnar path (it runs in workerd) one per group.
    await expect(db.sql`SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName, JSON_VALUE(event, '$.cron')`).rejects.toThrow(QueryLimitError)
    const grouped = await db.sql.explain`SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName`
    expect(grouped.scans.map(s => s.path)).toEqual(['columnar'])
    expect(grouped.rows.reduce((s, r) => s + (r.n as number), 0)).toBe(600)
    await expect(db.sql`SELECT eventTimestamp, COUNT(*) AS n FROM TailEvents GROUP BY eventTimestamp`).rejects.toThrow(QueryLimitError)
    // Production Workers advance the clock only on I/O; the local runtime, like Node, advances it always.
    const started = Date.now()
    await expect(join(db.sql.with({ timeoutMs: 200, maxJoinPairs: Infinity, maxRows: Infinity }))).rejects.toMatchObject({ limit: 'timeoutMs' })
    expect(Date.now() - started).toBeLessThan(2_000)

    const t = Date.now()
    const [{ n }] = await db.sql`SELECT COUNT(*) AS n FROM TailEvents WHERE REGEXP_MATCHES(${'a'.repeat(40) + '!'}, '(a+)+$')` as [{ n: number }]
    expect(n).toBe(0)
    expect(Date.now() - t).toBeLessThan(2_000)
  }, 60_000)
})
