import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { type AdminTarget, handleAdmin } from '../../src/db/admin_api.js'
import { MAX_ADMIN_BODY_BYTES } from '../../src/db/admin_input.js'
import { loadManifest } from '../../src/manifest/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const TOKEN = 's3cret'

/** An AdminTarget that records what reached it, so a test can prove a refused body did nothing. */
function recorder() {
  const calls: { op: string; arg?: unknown }[] = []
  const target: AdminTarget = {
    compact: async () => { calls.push({ op: 'compact' }); return { ok: 1 } },
    recompact: async req => { calls.push({ op: 'recompact', arg: req }); return { remaining: 0 } },
    status: async () => { calls.push({ op: 'status' }); return {} },
    query: async sql => { calls.push({ op: 'query', arg: sql }); return { rows: [] } },
    find: (name, filter, options) => {
      calls.push({ op: 'find', arg: { name, filter, options } })
      return Object.assign((async function* () { /* no rows */ })(), { stats: null })
    },
    files: async name => { calls.push({ op: 'files', arg: name }); return { files: [] } },
    tailCollection: 'TailEvents',
    errorsView: null,
    now: () => Date.now(),
  }
  return { calls, target }
}

function post(path: string, body?: BodyInit, headers: Record<string, string> = {}): Request {
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, ...headers } }
  if (body !== undefined) init.body = body
  if (body instanceof ReadableStream) init.duplex = 'half'
  return new Request(`https://w${path}`, init)
}

async function answer(request: Request, target: AdminTarget): Promise<{ status: number; error?: string; body: unknown }> {
  const res = (await handleAdmin(request, TOKEN, target))!
  const body = await res.json() as { error?: string }
  return { status: res.status, error: body.error, body }
}

/** A body of `chunks` × 1 MiB that counts how much of it was pulled and whether it was cancelled. */
function hugeStream(chunks: number) {
  const seen = { pulled: 0, cancelled: false }
  const chunk = new Uint8Array(1 << 20).fill(0x20)
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.pulled === chunks) return c.close()
      seen.pulled++
      c.enqueue(chunk)
    },
    cancel() { seen.cancelled = true },
  }, { highWaterMark: 0 })
  return { stream, seen }
}

describe('admin bodies are checked against their shape', () => {
  const refusedRecompact: [string, RegExp][] = [
    ['[1,2]', /body must be a JSON object like \{"from".*got an array/],
    ['1', /got a number/],
    ['"everything"', /got a string/],
    ['true', /got a boolean/],
    ['null', /got null/],
    ['{"form":"2024-01-15"}', /unknown field "form"; allowed fields: from, to, collections/],
    ['{"from":"2024-01-15","colections":["TailEvents"],"x":1}', /unknown fields "colections", "x"; allowed fields: from/],
    ['{"__proto__":{"from":1}}', /unknown field "__proto__"/],
    ['{"from":', /the body is not JSON \(.*\); send \{"from"/],
    ['{"collections":"TailEvents"}', /collections must be a non-empty array .* got "TailEvents"/],
    ['{"collections":[]}', /collections must be a non-empty array/],
    ['{"collections":[1]}', /collections must be a non-empty array/],
    ['{"collections":[""]}', /collections must be a non-empty array/],
  ]
  for (const [body, why] of refusedRecompact) {
    it(`recompact ${body} → 400, nothing recompacted`, async () => {
      const { calls, target } = recorder()
      const r = await answer(post('/admin/recompact', body), target)
      expect(r.status).toBe(400)
      expect(r.error).toMatch(/^POST \/admin\/recompact: /)
      expect(r.error).toMatch(why)
      expect(calls).toEqual([])
    })
  }

  const badDates: unknown[] = [
    'yesterday', '1', '2024', '2024-02-30', '2023-02-29', '2024-13-01', '2024-01-15T25:00:00Z', '2024-01-15T09:60Z',
    '2024-01-15T24:00:00Z', '15/01/2024', '2024-01-15Z', ' 2024-01-15', '1705309200000', 1.5, 1e20, -1e16, true, null, {}, [],
  ]
  for (const v of badDates) {
    it(`recompact from ${JSON.stringify(v)} → 400 naming the field and the formats`, async () => {
      const { calls, target } = recorder()
      const r = await answer(post('/admin/recompact', JSON.stringify({ from: v })), target)
      expect(r.status).toBe(400)
      expect(r.error).toContain(`from is not a date: ${JSON.stringify(v)}`)
      expect(r.error).toContain('write an ISO 8601 date like "2024-01-15" or "2024-01-15T09:00:00Z", or epoch milliseconds')
      expect(calls).toEqual([])
    })
  }

  it('recompact takes ISO dates, date-times (a missing zone is UTC), offsets and epoch ms', async () => {
    const { calls, target } = recorder()
    const cases: [string, unknown, number | undefined][] = [
      ['', undefined, undefined],
      ['{}', undefined, undefined],
      [' \n', undefined, undefined],
      ['{"from":"2024-01-15"}', 'from', Date.parse('2024-01-15T00:00:00Z')],
      ['{"from":"2024-01-15T09:30"}', 'from', Date.parse('2024-01-15T09:30:00Z')],
      ['{"to":"2024-01-15T09:30:00.5+02:00"}', 'to', Date.parse('2024-01-15T07:30:00.500Z')],
      ['{"to":1705309200000}', 'to', 1705309200000],
      ['{"from":"2024-02-29T00:00:00Z","collections":["TailEvents"]}', 'from', Date.parse('2024-02-29T00:00:00Z')],
    ]
    for (const [body, field, ms] of cases) {
      calls.length = 0
      const r = await answer(post('/admin/recompact', body || undefined), target)
      expect(r.status, body).toBe(200)
      const arg = calls[0]!.arg as Record<string, Date>
      if (field) expect(+arg[field as string]!, body).toBe(ms)
      else expect(arg, body).toEqual({})
    }
    expect((calls[0]!.arg as { collections: string[] }).collections).toEqual(['TailEvents'])
  })

  it('sql takes {query} only', async () => {
    const { calls, target } = recorder()
    const refused: [string, RegExp][] = [
      ['{"query":"SELECT 1","limit":10}', /unknown field "limit"; allowed fields: query$/],
      ['["SELECT 1"]', /got an array/],
      ['"SELECT 1"', /got a string/],
      ['{}', /"query" must be a non-empty SQL string; send \{"query":"SELECT \.\.\."\}/],
      ['', /"query" must be a non-empty SQL string/],
      ['{"query":"  "}', /"query" must be a non-empty SQL string/],
      ['{"query":7}', /"query" must be a non-empty SQL string/],
    ]
    for (const [body, why] of refused) {
      const r = await answer(post('/admin/sql', body || undefined), target)
      expect(r.status, body).toBe(400)
      expect(r.error, body).toMatch(why)
    }
    expect(calls).toEqual([])
    expect((await answer(post('/admin/sql', '{"query":"SELECT 1"}'), target)).status).toBe(200)
    expect(calls).toEqual([{ op: 'query', arg: 'SELECT 1' }])
  })

  it('compact takes no body or {}', async () => {
    const { calls, target } = recorder()
    for (const body of ['{"force":true}', '[]', '1', 'x']) {
      const r = await answer(post('/admin/compact', body), target)
      expect(r.status, body).toBe(400)
    }
    expect((await answer(post('/admin/compact', '{"force":true}'), target)).error)
      .toBe('POST /admin/compact: unknown field "force"; it takes no fields')
    expect(calls).toEqual([])
    expect((await answer(post('/admin/compact'), target)).status).toBe(200)
    expect((await answer(post('/admin/compact', '{}'), target)).status).toBe(200)
    expect(calls).toEqual([{ op: 'compact' }, { op: 'compact' }])
  })

  it('a body that is not UTF-8 is a 400', async () => {
    const { calls, target } = recorder()
    const r = await answer(post('/admin/sql', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), target)
    expect(r).toMatchObject({ status: 400, error: 'POST /admin/sql: the body is not UTF-8 text; send JSON' })
    expect(calls).toEqual([])
  })

  it('a route asked with the wrong method is a 405 naming the method it takes', async () => {
    const { calls, target } = recorder()
    const get = new Request('https://w/admin/recompact', { headers: { authorization: `Bearer ${TOKEN}` } })
    const res = (await handleAdmin(get, TOKEN, target))!
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    expect(((await res.json()) as { error: string }).error).toBe('/admin/recompact takes POST, not GET')
    expect((await answer(post('/admin/status'), target)).status).toBe(405)
    expect((await answer(post('/admin/constructor'), target)).status).toBe(404)
    expect(calls).toEqual([])
  })
})

describe('engine refusals are 400s, failures 500s', () => {
  it('maps what the engine throws to a status', async () => {
    const cases: [Error, number][] = [
      [new RangeError('recompact: need from < to'), 400],
      [Object.assign(new Error('Column "nope" not found'), { name: 'SqlError' }), 400],
      [Object.assign(new Error('the SQL query ran longer than timeoutMs'), { name: 'QueryLimitError' }), 400],
      [new Error('R2 is down'), 500],
    ]
    for (const [error, status] of cases) {
      const { target } = recorder()
      target.query = async () => { throw error }
      const r = await answer(post('/admin/sql', '{"query":"SELECT 1"}'), target)
      expect(r, error.message).toMatchObject({ status, error: error.message })
    }
  })
})

describe('admin bodies are size-limited', () => {
  it('a declared Content-Length over the limit is refused before reading', async () => {
    const { calls, target } = recorder()
    const { stream, seen } = hugeStream(200)
    const r = await answer(post('/admin/recompact', stream, { 'content-length': String(200 << 20) }), target)
    expect(r.status).toBe(413)
    expect(r.error).toBe(`POST /admin/recompact: the body is ${200 << 20} bytes (Content-Length); admin bodies are at most `
      + '65536 bytes (64 KiB), and a valid one needs a few hundred')
    expect(seen.pulled).toBe(0)
    expect(calls).toEqual([])
  })

  it('a 200 MB streamed body without a length stops being read past 64 KiB', async () => {
    const { calls, target } = recorder()
    const { stream, seen } = hugeStream(200)
    const started = performance.now()
    const r = await answer(post('/admin/sql', stream), target)
    expect(r.status).toBe(413)
    expect(r.error).toMatch(/the body is over 65536 bytes \(stopped reading at 1048576\); admin bodies are at most 65536/)
    expect(seen.pulled).toBeLessThanOrEqual(2)
    expect(seen.cancelled).toBe(true)
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(calls).toEqual([])
  })

  it('exactly the limit is read; one byte more is a 413', async () => {
    const { calls, target } = recorder()
    const frame = '{"query":"SELECT 1 "}'
    const exact = frame.replace('1 ', `1 ${' '.repeat(MAX_ADMIN_BODY_BYTES - frame.length)}`)
    expect(new TextEncoder().encode(exact).byteLength).toBe(MAX_ADMIN_BODY_BYTES)
    expect((await answer(post('/admin/sql', exact), target)).status).toBe(200)
    expect((await answer(post('/admin/sql', `${exact} `), target)).status).toBe(413)
    // A streamed body (no Content-Length) is counted the same way.
    const streamOf = (s: string) => new Blob([s]).stream()
    expect((await answer(post('/admin/sql', streamOf(`${exact} `)), target)).status).toBe(413)
    expect(calls).toEqual([{ op: 'query', arg: exact.slice(10, -2) }])
  })

  it('an unauthenticated request is refused without reading its body', async () => {
    const { calls, target } = recorder()
    const { stream, seen } = hugeStream(200)
    const req = new Request('https://w/admin/recompact', { method: 'POST', body: stream, duplex: 'half' } as RequestInit)
    expect((await handleAdmin(req, TOKEN, target))!.status).toBe(401)
    expect(seen.pulled).toBe(0)
    expect(calls).toEqual([])
  })
})

describe('admin input against a real store', () => {
  it('a recompact body of [1,2] or with a misspelt key recompacts nothing; a valid one works', async () => {
    const T0 = Date.parse('2024-01-15T09:00:00Z')
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => T0 + 5 * 3_600_000 })
    await db.TailEvents.bulkCreate(makeEvents(50, { start: T0, spanMs: 3 * 3_600_000 }))
    expect((await db.compact()).filesWritten).toBe(3)
    const env = { PARQUEDB_ADMIN_TOKEN: TOKEN }
    const call = async (body: string) => {
      const res = (await db.fetchAdmin(post('/admin/recompact', body), env))!
      return { status: res.status, body: await res.json() as { error?: string; pass?: { partitionsRecompacted: number } } }
    }
    const files = async () => (await loadManifest(bucket, '', 0)).manifest.collections.TailEvents!.files.map(f => f.key)
    const before = await files()
    for (const body of ['[1,2]', '{"collection":["TailEvents"]}', '{"from":"2024-01-15T09:00:00Z","to":"soon"}', '1']) {
      const r = await call(body)
      expect(r.status, body).toBe(400)
      expect((await loadManifest(bucket, '', 0)).manifest.recompact, body).toEqual([])
    }
    expect(await files()).toEqual(before)
    const ok = await call(JSON.stringify({ from: '2024-01-15T10:00:00Z', to: '2024-01-15T11:00:00Z', collections: ['TailEvents'] }))
    expect(ok.status).toBe(200)
    expect(ok.body.pass!.partitionsRecompacted).toBe(1)
    const after = await files()
    expect(after.filter(k => !before.includes(k))).toHaveLength(1)
    // A well-formed but unknown collection is the engine's RangeError: still a 400.
    const unknown = await call('{"collections":["Nope"]}')
    expect(unknown.status).toBe(400)
    expect(unknown.body.error).toContain('unknown collection or view "Nope"')
  })
})
