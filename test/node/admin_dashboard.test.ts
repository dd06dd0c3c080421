import { beforeAll, describe, expect, it } from 'vitest'
import { OverviewBuilder, quantile } from '../../src/dashboard/index.js'
import { DB } from '../../src/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

/**
 * The dashboard's endpoints against a real store (half compacted, half still in the WAL), each
 * answer checked against the same numbers computed in plain JavaScript from the events sent.
 */
const TOKEN = 'dash-token'
const T0 = Date.parse('2024-01-15T09:00:00Z')
const NOW = T0 + 2 * 3_600_000
const env = { PARQUEDB_ADMIN_TOKEN: TOKEN }
const events = [
  ...makeEvents(300, { start: T0, spanMs: 3_600_000, seed: 3 }),
  ...makeEvents(200, { start: T0 + 3_600_000, spanMs: 3_600_000, seed: 4 }),
]
const db = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }, { storage: new MemoryBucket(), now: () => NOW })

async function call(path: string, body?: unknown, token = TOKEN) {
  const init: RequestInit = { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${token}` } }
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body)
  const res = (await db.fetchAdmin(new Request(`https://w${path}`, init), env))!
  return { status: res.status, headers: res.headers, text: await res.text() }
}
async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await call(path, body)
  expect(r.status, r.text).toBe(200)
  return JSON.parse(r.text) as T
}

beforeAll(async () => {
  await db.TailEvents.bulkCreate(events.slice(0, 300))
  await db.compact()
  await db.TailEvents.bulkCreate(events.slice(300)) // stays in the WAL: the panels read it too
})

describe('the dashboard page', () => {
  it('is served at / without the token, holds no data, and inlines its chart library (no CDN)', async () => {
    const res = (await db.fetchAdmin(new Request('https://w/'), env))!
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'")
    const html = await res.text()
    expect(html).toContain('Sign in')
    expect(html).toMatch(/uPlot 1\.6\.\d+ \(MIT/)
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!github\.com\/leeoniya)/i)
    expect(html).not.toContain('api-worker')
    expect((await db.fetchAdmin(new Request('https://w/elsewhere'), env))).toBeNull()
    expect((await db.fetchAdmin(new Request('https://w/', { method: 'POST' }), env))!.status).toBe(405)
  })

  it('is served when no token is configured, and its sign-in then gets the reason from the API (503)', async () => {
    expect((await db.fetchAdmin(new Request('https://w/'), {}))!.status).toBe(200)
    const r = (await db.fetchAdmin(new Request('https://w/admin/status', { headers: { authorization: 'Bearer x' } }), {}))!
    expect(r.status).toBe(503)
    expect(await r.text()).toContain('set the PARQUEDB_ADMIN_TOKEN secret')
  })

  it('its data endpoints need the token', async () => {
    expect((await call('/admin/overview', {}, 'wrong')).status).toBe(401)
    expect((await call('/admin/find', { collection: 'TailEvents' }, 'wrong')).status).toBe(401)
  })
})

describe('POST /admin/overview', () => {
  it('counts requests and errors and takes wall-time percentiles per minute and script, as plain JS does', async () => {
    const from = T0 + 30 * 60_000
    const to = T0 + 90 * 60_000
    const got = await post<{
      times: number[]; bucketMs: number
      scripts: Record<string, { requests: number[]; errors: number[]; p95: (number | null)[] }>
      summary: Record<string, { requests: number; errors: number; p99: number | null }>
      stats: { files: number; walSegments: number }
    }>('/admin/overview', { from: new Date(from).toISOString(), to })
    expect(got.bucketMs).toBe(60_000)
    expect(got.times).toHaveLength(60)
    const inRange = events.filter(e => +e.eventTimestamp >= from && +e.eventTimestamp < to)
    for (const script of ['api-worker', 'auth-worker', 'webhook-worker']) {
      const mine = inRange.filter(e => e.scriptName === script)
      expect(got.summary[script]!.requests).toBe(mine.length)
      expect(got.summary[script]!.errors).toBe(mine.filter(e => e.outcome !== 'ok').length)
      const walls = Float64Array.from(mine.map(e => e.wallTime!)).sort()
      expect(got.summary[script]!.p99).toBe(walls[Math.ceil(0.99 * walls.length) - 1])
      for (let i = 0; i < 60; i++) {
        const cell = mine.filter(e => Math.floor((+e.eventTimestamp - from) / 60_000) === i)
        expect(got.scripts[script]!.requests[i]).toBe(cell.length)
        expect(got.scripts[script]!.errors[i]).toBe(cell.filter(e => e.outcome !== 'ok').length)
        expect(got.scripts[script]!.p95[i]).toBe(quantile(Float64Array.from(cell.map(e => e.wallTime!)).sort(), 0.95))
      }
    }
    // Both the compacted hour's file and the WAL segment still waiting were read.
    expect(got.stats.files).toBeGreaterThan(0)
    expect(got.stats.walSegments).toBeGreaterThan(0)
  })

  it('narrows to one script, and refuses a range past 31 days or backwards', async () => {
    const got = await post<{ scripts: Record<string, unknown> }>('/admin/overview', { from: T0, to: NOW, script: 'auth-worker' })
    expect(Object.keys(got.scripts)).toEqual(['auth-worker'])
    const long = await call('/admin/overview', { from: '2024-01-01', to: '2024-03-01' })
    expect(long.status).toBe(400)
    expect(long.text).toContain('over 31 days')
    expect((await call('/admin/overview', { from: NOW, to: T0 })).status).toBe(400)
    expect((await call('/admin/overview', { from: 'yesterday' })).text).toContain('from is not a date')
  })
})

describe('OverviewBuilder', () => {
  it('keeps exact percentiles up to 1,000 wall times a bucket, then a uniform sample close to them', () => {
    const b = new OverviewBuilder(0, 60_000)
    const walls = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 10_000) // 0..9999, each twice
    walls.forEach((w, i) => b.add({ scriptName: 'w', outcome: i % 10 ? 'ok' : 'exception', eventTimestamp: new Date(i % 60_000), wallTime: w }))
    const r = b.result()
    expect(r.sampled).toBe(true)
    expect(r.summary.w!.requests).toBe(20_000)
    expect(r.summary.w!.errors).toBe(2_000)
    // A sample of 1,000 from a uniform 0..9999: the 95th percentile lands within a few percent of 9,500.
    expect(Math.abs(r.total.p95[0]! - 9_500)).toBeLessThan(400)
    const exact = new OverviewBuilder(0, 60_000)
    for (let i = 0; i < 1_000; i++) exact.add({ scriptName: null, outcome: 'ok', eventTimestamp: new Date(i), wallTime: i })
    expect(exact.result()).toMatchObject({ sampled: false, summary: { '(unnamed)': { p50: 499, p95: 949, p99: 989 } } })
  })
})

describe('POST /admin/errors', () => {
  it('groups failures by exception name and message with counts and first and last seen', async () => {
    const got = await post<{ total: number; groups: { name: string; message: string; count: number; firstSeen: string; lastSeen: string }[] }>(
      '/admin/errors', { from: T0, to: NOW })
    const failing = events.filter(e => e.outcome !== 'ok')
    expect(got.total).toBe(failing.length)
    const expected = new Map<string, Date[]>()
    for (const e of failing) {
      const ex = e.exceptions![0] as { name: string; message: string }
      const k = `${ex.name}|${ex.message}`
      expected.set(k, [...(expected.get(k) ?? []), e.eventTimestamp as Date])
    }
    expect(got.groups).toHaveLength(expected.size)
    for (const g of got.groups) {
      const times = expected.get(`${g.name}|${g.message}`)!.map(d => +d).sort((a, b) => a - b)
      expect(g.count).toBe(times.length)
      expect(Date.parse(g.firstSeen)).toBe(times[0])
      expect(Date.parse(g.lastSeen)).toBe(times[times.length - 1])
    }
    const counts = got.groups.map(g => g.count)
    expect(counts).toEqual([...counts].sort((a, b) => b - a))
  })
})

describe('POST /admin/find', () => {
  it('answers what db.find answers, with {"$date"} values and the scan stats', async () => {
    const body = {
      collection: 'TailEvents',
      filter: { eventTimestamp: { $gte: { $date: '2024-01-15T09:30:00Z' } }, outcome: 'exception' },
      sort: { eventTimestamp: -1 }, limit: 7, project: { scriptName: 1, eventTimestamp: 1, exceptions: 1 },
    }
    const got = await post<{ rows: Record<string, unknown>[]; stats: { files: number; r2: { get: number }; costUsd: number } }>(
      '/admin/find', body)
    const want = await db.TailEvents.find(
      { eventTimestamp: { $gte: new Date('2024-01-15T09:30:00Z') }, outcome: 'exception' },
      { sort: { eventTimestamp: -1 }, limit: 7, project: { scriptName: 1, eventTimestamp: 1, exceptions: 1 } })
    expect(got.rows).toEqual(JSON.parse(JSON.stringify(want)))
    expect(got.rows).toHaveLength(7)
    expect(got.stats.r2.get).toBeGreaterThan(0)
    expect(got.stats.costUsd).toBeGreaterThan(0)
  })

  it('refuses an unknown collection, a bad filter, a limit past 10,000 or a bad date, naming it', async () => {
    const cases: [unknown, RegExp][] = [
      [{ collection: 'Nope' }, /no collection or view named "Nope"; the schema has TailEvents/],
      [{ collection: 'TailEvents', filter: { nope: 1 } }, /names "nope"/],
      [{ collection: 'TailEvents', limit: 10_001 }, /"limit" must be an integer from 0 to 10000/],
      [{ collection: 'TailEvents', filter: { eventTimestamp: { $gte: { $date: 'soon' } } } }, /\$date is not a date/],
      [{ collection: 'TailEvents', filter: [] }, /"filter" must be a JSON object/],
      [{ collection: 'TailEvents', fliter: {} }, /unknown field "fliter"/],
    ]
    for (const [body, message] of cases) {
      const r = await call('/admin/find', body)
      expect(r.status, r.text).toBe(400)
      expect(JSON.parse(r.text).error).toMatch(message)
    }
  })
})

describe('POST /admin/events and GET /admin/files', () => {
  it('searches by outcome, status class, log level and literal text, newest first', async () => {
    const search = (q: object) => post<{ rows: { eventTimestamp: string; outcome: string }[] }>('/admin/events', { from: T0, ...q })
    const failing = events.filter(e => e.outcome === 'exception')
    const got = await search({ outcome: 'exception', limit: 10_000 })
    expect(got.rows).toHaveLength(failing.length)
    const times = got.rows.map(r => r.eventTimestamp)
    expect(times).toEqual([...times].sort().reverse())
    const status = (e: (typeof events)[number]) => (e.event as { response?: { status?: number } } | null)?.response?.status
    expect((await search({ status: '5xx', limit: 10_000 })).rows).toHaveLength(events.filter(e => (status(e) ?? 0) >= 500).length)
    expect((await search({ level: 'error', limit: 10_000 })).rows).toHaveLength(failing.length)
    // "?i=1" matched literally: the "?" is not a regex operator, and only URLs with "?i=1" + digit or end match.
    const lit = (await search({ text: '?i=12', limit: 10_000 })).rows.length
    expect(lit).toBe(events.filter(e => JSON.stringify(e.event ?? '').includes('?i=12') || JSON.stringify(e.logs).includes('?i=12')).length)
    const bad = await call('/admin/events', { status: 'fivehundred' })
    expect(bad.status).toBe(400)
    expect(bad.text).toContain('status: write a code like 500')
  })

  it('lists the live files of a collection from the manifest', async () => {
    expect((await call('/admin/files?collection=TailEvents', {})).status).toBe(405) // it takes GET
    const r = await call('/admin/files?collection=TailEvents')
    const files = (JSON.parse(r.text) as { files: { rows: number; key: string }[] }).files
    expect(files.reduce((a, f) => a + f.rows, 0)).toBe(300)
    expect((await call('/admin/files')).text).toContain('/admin/files?collection=TailEvents')
    expect((await call('/admin/files?collection=Nope')).status).toBe(400)
  })
})

describe('POST /admin/sql', () => {
  it('answers rows with the scans summed into stats', async () => {
    const got = await post<{ rows: { n: number }[]; stats: { files: number; walSegments: number; rowsRead: number } }>(
      '/admin/sql', { query: 'SELECT COUNT(*) AS n FROM TailEvents' })
    expect(got.rows).toEqual([{ n: 500 }])
    expect(got.stats.rowsRead).toBe(500)
    expect(got.stats.files).toBeGreaterThan(0)
    expect(got.stats.walSegments).toBe(1)
  })
})
