import { mkdir, mkdtemp, readdir } from 'node:fs/promises'
import { type Server, createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { DB } from '../../src/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../../src/tail/index.js'
import { duck } from '../helpers/duckdb.js'
import { makeEvents } from '../helpers/events.js'

/**
 * The CLI as a user meets it: tables by default, --json for scripts, the same answers from a worker
 * (--url, here a Node server in front of db.fetchAdmin) and from the folder itself (--dir).
 */
const TOKEN = 'cli-token'
const T0 = Date.parse('2024-01-15T09:00:00Z')
let dir: string
let server: Server
let url: string
const schema = { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }

async function cli(...argv: string[]): Promise<string> {
  const out: string[] = []
  expect(await main(argv, s => { out.push(s) })).toBe(0)
  return out.join('')
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parquedb-cli-'))
  const db = DB(schema, { storage: { type: 'fs', path: dir } })
  await db.TailEvents.bulkCreate(makeEvents(120, { start: T0, spanMs: 3 * 3_600_000 }))
  await db.compact()
  await db.TailEvents.bulkCreate(makeEvents(30, { start: T0 + 3 * 3_600_000, spanMs: 3_600_000, seed: 9 }))
  await db.compact()
  // A recompaction replaces hour 10's file: the old one stays in the bucket until garbage collection.
  await db.recompact({ from: new Date(T0 + 3_600_000), to: new Date(T0 + 2 * 3_600_000) })
  const env = { PARQUEDB_ADMIN_TOKEN: TOKEN }
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = chunks.length ? Buffer.concat(chunks) : undefined
    const r = (await db.fetchAdmin(new Request(`http://x${req.url}`, {
      method: req.method, headers: req.headers as Record<string, string>, ...(body ? { body } : {}),
    }), env))!
    res.writeHead(r.status, Object.fromEntries(r.headers))
    res.end(Buffer.from(await r.arrayBuffer()))
  })
  await new Promise<void>(ok => server.listen(0, '127.0.0.1', ok))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
})
afterAll(() => new Promise<void>(ok => server.close(() => ok())))

describe('parquedb CLI', () => {
  it('answers the same JSON from --url and --dir', async () => {
    const strip = (s: string) => JSON.parse(s.replace(/"(durationMs|updatedAt|oldestAgeMs)": [^,\n]+/g, '"$1": 0'))
    const same = async (...argv: string[]) => {
      const a = strip(await cli(...argv, '--json', '--url', url, '--token', TOKEN))
      const b = strip(await cli(...argv, '--json', '--dir', dir))
      expect(a, argv.join(' ')).toEqual(b)
      return a
    }
    const status = await same('status')
    expect(status.collections.TailEvents.rows).toBe(150)
    const sql = await same('sql', 'SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName ORDER BY scriptName')
    expect(sql.rows.reduce((a: number, r: { n: number }) => a + r.n, 0)).toBe(150)
    expect(sql.stats.files).toBeGreaterThan(0)
    const found = await same('find', 'TailEvents', '{"outcome":"exception","eventTimestamp":{"$gte":{"$date":"2024-01-15T10:00:00Z"}}}',
      '--sort', '{"eventTimestamp":1}', '--limit', '5', '--project', '{"scriptName":1,"eventTimestamp":1}')
    expect(found.rows).toHaveLength(5)
    expect(found.rows[0].eventTimestamp >= '2024-01-15T10:00:00').toBe(true)
    // Where the files are read from differs (a folder, a bucket); which files does not.
    const a = JSON.parse(await cli('files', 'TailEvents', '--json', '--url', url, '--token', TOKEN))
    const b = JSON.parse(await cli('files', 'TailEvents', '--json', '--dir', dir))
    expect(Object.keys(a)).toEqual(Object.keys(b))
    expect(a.files).toEqual(b.files)
  })

  it('prints tables for people by default', async () => {
    const status = await cli('status', '--dir', dir)
    expect(status).toMatch(/^manifest v\d+/)
    expect(status).toMatch(/collection\s+files\s+l0\s+rows/)
    expect(status).toMatch(/TailEvents\s+\d+\s+\d+\s+150\b/)
    const sql = await cli('sql', 'SELECT outcome, COUNT(*) AS n FROM TailEvents GROUP BY outcome ORDER BY outcome', '--url', url, '--token', TOKEN)
    expect(sql.split('\n').slice(0, 2)).toEqual([expect.stringMatching(/^outcome\s+n$/), expect.stringMatching(/^-+\s+-+$/)])
    expect(sql).toMatch(/^exception\s+\d+$/m)
    expect(sql).toMatch(/2 rows; read \d+ files, \d+ row groups/)
  })

  it('files lists the live files, and its read_parquet([...]) counts each row once where a glob does not', async () => {
    const r = JSON.parse(await cli('files', 'TailEvents', '--dir', dir, '--json'))
    const all = (await readdir(join(dir, 'objects/data/TailEvents'), { recursive: true })).filter(f => String(f).endsWith('.parquet'))
    expect(all.length).toBeGreaterThan(r.files.length) // the replaced file awaits deletion
    const count = async (sql: string) => Number((await duck(sql))[0]!.n)
    expect(await count(r.duckdb.replace('SELECT *', 'SELECT COUNT(*) AS n'))).toBe(150)
    const glob = `SELECT COUNT(*) AS n FROM read_parquet('${join(dir, 'objects/data/TailEvents')}/*/*/*.parquet')`
    expect(await count(glob)).toBeGreaterThan(150)
    const text = await cli('files', 'TailEvents', '--url', url, '--token', TOKEN, '--bucket', 'parquedb-data')
    expect(text).toContain("read_parquet(['r2://parquedb-data/data/TailEvents/dt=2024-01-15/hour=09/")
    expect(text).toContain('counts their rows twice')
  })

  it('tail prints the newest matching events, then follows new ones', async () => {
    const dbNow = DB(schema, { storage: { type: 'fs', path: dir } })
    const now = Date.now()
    await dbNow.TailEvents.bulkCreate(makeEvents(20, { start: now - 60_000, spanMs: 50_000, seed: 5 }))
    const lines: string[] = []
    const stop = new AbortController()
    const run = main(['tail', '--dir', dir, '--outcome', 'exception', '--interval', '0.2', '--json'],
      s => { lines.push(s) }, { signal: stop.signal })
    await expect.poll(() => lines.length).toBeGreaterThan(0)
    const first = lines.length
    await dbNow.TailEvents.bulkCreate([{ ...makeEvents(1, { start: Date.now(), spanMs: 1, seed: 6 })[0]!,
      outcome: 'exception', exceptions: [{ name: 'Error', message: 'followed-77' }] }])
    await expect.poll(() => lines.join('')).toContain('followed-77')
    stop.abort()
    expect(await run).toBe(0)
    const rows = lines.join('').trim().split('\n').map(l => JSON.parse(l) as { outcome: string; eventTimestamp: string })
    expect(rows).toHaveLength(first + 1)
    expect(rows.every(r => r.outcome === 'exception')).toBe(true)
    const times = rows.slice(0, first).map(r => r.eventTimestamp)
    expect(times).toEqual([...times].sort()) // oldest first, as a log reads
  })

  it('--dir refuses a folder that is not a store instead of reporting an empty one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'parquedb-empty-'))
    await expect(main(['status', '--dir', empty], () => {})).rejects.toThrow(/holds no ParqueDB store: no manifest and no WAL segments/)
    await expect(main(['status', '--dir', join(empty, 'nope')], () => {})).rejects.toThrow('no such folder')
    await mkdir(join(empty, 'objects'))
    await expect(main(['status', '--dir', dir, '--prefix', 'elsewhere'], () => {})).rejects.toThrow('--prefix elsewhere holds no ParqueDB store')
  })

  it('refuses bad input with the reason, as a worker would', async () => {
    await expect(main(['find', '--dir', dir], () => {})).rejects.toThrow('find needs a collection')
    await expect(main(['find', 'Nope', '--dir', dir], () => {})).rejects.toThrow('no collection or view named "Nope"')
    await expect(main(['find', 'TailEvents', '{oops', '--dir', dir], () => {})).rejects.toThrow('the filter is not JSON')
    await expect(main(['tail', '--dir', dir, '--status', 'bad'], () => {})).rejects.toThrow('status: write a code like 500')
    await expect(main(['find', 'TailEvents', '--url', url, '--token', 'wrong'], () => {})).rejects.toThrow(/^401/)
  })
})
