import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { main, refused } from '../../src/cli.js'
import { DB } from '../../src/index.js'
import { TailEvents, WorkerRequests } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const run = promisify(execFile)

describe('the built package and its CLI', () => {
  it('plain Node imports parquedb, parquedb/tail and parquedb/iceberg from dist (the package exports) and stores to a folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parquedb-pkg-'))
    const script = `
      import { DB } from 'parquedb'
      import { TailEvents, traceItemToTailEvent } from 'parquedb/tail'
      import { icebergTables } from 'parquedb/iceberg'
      const iceberg = icebergTables({ location: 'file://' + process.argv[1] })
      const db = DB({ TailEvents }, { storage: { type: 'fs', path: process.argv[1] }, iceberg })
      const item = { scriptName: 'w', outcome: 'ok', eventTimestamp: 1705309200000, event: null, logs: [], exceptions: [] }
      const r = await db.TailEvents.bulkCreate([traceItemToTailEvent(item)])
      const pass = await db.compact()
      const rows = await db.TailEvents.find()
      console.log(JSON.stringify({ written: r.written, compacted: pass.rowsCompacted, rows: rows.length, ts: rows[0].eventTimestamp instanceof Date, published: pass.tablesPublished }))
    `
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, dir], { cwd: process.cwd() })
    expect(JSON.parse(stdout)).toEqual({ written: 1, compacted: 1, rows: 1, ts: true, published: 1 })
  })

  it('parquedb status / compact / recompact on a folder bucket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parquedb-cli-'))
    const db = DB({ TailEvents }, { storage: { type: 'fs', path: dir } })
    await db.TailEvents.bulkCreate(makeEvents(50, { start: Date.parse('2024-01-15T09:00:00Z'), spanMs: 2 * 3_600_000 }))
    const out: string[] = []
    const capture = (s: string) => { out.push(s) }
    expect(await main(['status', '--dir', dir, '--json'], capture)).toBe(0)
    expect(JSON.parse(out.pop()!).collections.TailEvents.wal.segments).toBe(1)
    expect(await main(['compact', '--dir', dir, '--json'], capture)).toBe(0)
    expect(JSON.parse(out.pop()!).rowsCompacted).toBe(50)
    expect(await main(['recompact', '--dir', dir, '--from', '2024-01-15T10:00:00Z', '--to', '2024-01-15T11:00:00Z', '--json'], capture)).toBe(0)
    const rc = JSON.parse(out.pop()!)
    expect(rc.partitions.TailEvents).toEqual(['dt=2024-01-15/hour=10'])
    expect(rc.remaining).toBe(0)
    expect((await db.TailEvents.find()).length).toBe(50)
    expect(await main(['sql', "SELECT COUNT(*) AS n FROM WorkerRequests WHERE timestamp >= NOW() - INTERVAL '100000 days'", '--dir', dir, '--json'], capture)).toBe(0)
    expect(JSON.parse(out.pop()!).rows).toEqual([{ n: 50 }])
    await expect(main(['sql', '--dir', dir], capture)).rejects.toThrow('sql needs a query')
    await expect(main(['recompact', '--dir', dir, '--from', 'soon'], capture)).rejects.toThrow('--from: not a date: soon')
    await expect(main(['status'], capture)).rejects.toThrow('give exactly one of --url or --dir')
    await expect(main(['explode', '--dir', dir], capture)).rejects.toThrow('unknown command "explode"')
    // Refused as asked (exit 2) vs failed (exit 1).
    const bad = await main(['sql', 'SELECT nope FROM TailEvents', '--dir', dir], capture).catch((e: unknown) => e)
    expect(refused(bad)).toBe(true)
    expect(refused(new Error('connect ECONNREFUSED'))).toBe(false)
  })

  it('parquedb compact --dir refuses a store with views it does not know, and keeps them with --schema', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parquedb-cli-views-'))
    const Failed = { $from: 'WorkerRequests', $filter: { status: { $gte: 500 } } }
    const db = DB({ TailEvents, WorkerRequests, Failed }, { storage: { type: 'fs', path: dir } })
    const start = Date.parse('2024-01-15T09:00:00Z')
    await db.TailEvents.bulkCreate(makeEvents(40, { start, spanMs: 3_600_000 }))
    await db.compact()
    await db.TailEvents.bulkCreate(makeEvents(40, { start: start + 3_600_000, spanMs: 3_600_000, seed: 2 }))
    const capture = () => {}
    await expect(main(['compact', '--dir', dir], capture)).rejects.toThrow("views the CLI's schema does not define: Failed")
    await expect(main(['recompact', '--dir', dir], capture)).rejects.toThrow('Failed')

    // The same schema from a module: the CLI's pass keeps the view current, nothing to rebuild.
    const mod = join(dir, 'schema.mjs')
    await writeFile(mod, `import { TailEvents, WorkerRequests } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/tail/index.js')).href)}
      export const schema = { TailEvents, WorkerRequests, Failed: ${JSON.stringify(Failed)} }`)
    expect(await main(['compact', '--dir', dir, '--schema', mod], capture)).toBe(0)
    expect((await db.compact()).partitionsRecompacted).toBe(0)
    const failed = (await db.TailEvents.find()).filter(r => (r.event as { response?: { status?: number } } | null)?.response?.status !== undefined && (r.event as { response: { status: number } }).response.status >= 500)
    expect(failed.length).toBeGreaterThan(0)
    expect((await db.Failed.find()).length).toBe(failed.length)

    // --force runs anyway: the store forgets the view and the worker's next pass rebuilds it.
    await db.TailEvents.bulkCreate(makeEvents(10, { start: start + 7_200_000, spanMs: 60_000, seed: 3 }))
    expect(await main(['compact', '--dir', dir, '--force'], capture)).toBe(0)
    expect((await db.compact()).partitionsRecompacted).toBeGreaterThan(0)
    await expect(main(['compact', '--dir', dir, '--schema', join(dir, 'missing.mjs')], capture)).rejects.toThrow('--schema')
  })

  it('the installed bin runs', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli.js', '--help'])
    expect(stdout).toContain('usage: parquedb <command> (--url <worker url> | --dir <folder>)')
  })
})
