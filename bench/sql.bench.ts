import { execFile } from 'node:child_process'
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { DB } from '../src/index.js'
import { loadManifest } from '../src/manifest/index.js'
import { FsBucket } from '../src/storage/fs_bucket.js'
import { MemoryBucket, listAll } from '../src/storage/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../src/tail/index.js'
import { comparableRows } from '../test/helpers/duckdb.js'
import { makeEvents } from '../test/helpers/events.js'
import { ORDER_KEYS, SPEC_QUERIES } from '../test/helpers/spec_sql.js'

/**
 * The spec's five SQL queries beside DuckDB (1 thread) reading the same Parquet files, and
 * DuckDB with the tables loaded in memory. The events fall in the hour before NOW, so every
 * query (the last hour, the last 24 hours) covers all of them: the worst case of each query.
 * Ours is timed over an in-memory copy of the bucket (DuckDB's reads hit the page cache) and over
 * the folder bucket itself, whose LIST reads a metadata file per object (~15 ms here, at 30k).
 * Sizes: BENCH_SQL_EVENTS (comma-separated; default 30000,1000000).
 */
const run = promisify(execFile)
const SIZES = (process.env.BENCH_SQL_EVENTS ?? '30000,1000000').split(',').map(Number)
const RUNS = Number(process.env.BENCH_SQL_RUNS ?? 3)
/** The row path sorts by buffering every row: above this many events its two queries are not run. */
const ROW_PATH_MAX = Number(process.env.BENCH_SQL_ROW_PATH_MAX ?? 300_000)
const HOUR = 3_600_000
const NOW = Date.parse('2024-01-15T12:00:00Z')
const SCHEMA = { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }
const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString(), runs: RUNS }

/** `warm` warm-up runs (the JIT settles after a few), then `runs` timed runs: min and median. */
async function timed<T>(fn: () => Promise<T>, warm = 1, runs = RUNS): Promise<{ min: number; median: number; value: T }> {
  let value = await fn()
  for (let i = 1; i < warm; i++) value = await fn()
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    value = await fn()
    ms.push(performance.now() - t)
  }
  ms.sort((a, b) => a - b)
  return { min: +ms[0]!.toFixed(1), median: +ms[Math.floor(ms.length / 2)]!.toFixed(1), value }
}

const normal = comparableRows

for (const EVENTS of SIZES) {
  describe(`SQL vs DuckDB, ${EVENTS} TailEvents in the last hour`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parquedb-sql-bench-'))
    const bucket = new FsBucket(join(dir, 'bucket'))
    const limits = { maxRows: Infinity, timeoutMs: Infinity }
    const db = DB(SCHEMA, { storage: bucket, now: () => NOW, query: limits })
    const memory = new MemoryBucket()
    const mem = DB(SCHEMA, { storage: memory, now: () => NOW, query: limits })
    const instance = await DuckDBInstance.create(undefined, { threads: '1' })
    const duck = await instance.connect()
    const at = new Date(NOW).toISOString().replace('T', ' ').replace('Z', '')
    const forDuck = (sql: string, suffix: string) => sql.replaceAll('NOW()', `TIMESTAMP '${at}'`)
      .replace(/FROM (WorkerRequests|WorkerErrors|WorkerLogs)/, (_, t: string) => `FROM ${t}${suffix}`)
    const out: Record<string, unknown> = { events: EVENTS }
    results[String(EVENTS)] = out

    it('loads: ingest in batches of 2,000, compact until the backlog is empty', async () => {
      const t = performance.now()
      const CHUNK = 50_000
      for (let start = 0; start < EVENTS; start += CHUNK) {
        const n = Math.min(CHUNK, EVENTS - start)
        const events = makeEvents(n, { start: NOW - HOUR + 1, spanMs: HOUR - 2, seed: 7 + start })
        for (let i = 0; i < n; i += 2000) await db.TailEvents.bulkCreate(events.slice(i, i + 2000))
        // Compact as it goes, as the cron does: the WAL stays small.
        for (let p = 0; p < 50; p++) if ((await db.compact({ timeBudgetMs: 600_000 })).rowsCompacted === 0) break
      }
      out.loadMs = Math.round(performance.now() - t)
      const { manifest } = await loadManifest(bucket, '', 0)
      for (const name of ['WorkerRequests', 'WorkerErrors', 'WorkerLogs']) {
        const files = manifest.collections[name]!.files
        const into = join(dir, 'parquet', name)
        await mkdir(into, { recursive: true })
        await Promise.all(files.map(async (f, i) => writeFile(join(into, `${i}.parquet`), new Uint8Array(await (await bucket.get(f.key))!.arrayBuffer()))))
        // WorkerLogs.timestamp is the log line's epoch ms (a variant number): a TIMESTAMP for DuckDB.
        const src = name === 'WorkerLogs'
          ? `(SELECT * REPLACE (make_timestamp(CAST(timestamp AS BIGINT) * 1000) AS timestamp) FROM read_parquet('${into}/*.parquet'))`
          : `read_parquet('${into}/*.parquet')`
        await duck.run(`CREATE VIEW ${name}_files AS SELECT * FROM ${src}`)
        await duck.run(`CREATE TABLE ${name}_mem AS SELECT * FROM ${src}`)
      }
      for await (const o of listAll(bucket, '')) {
        const body = await bucket.get(o.key)
        await memory.put(o.key, new Uint8Array(await body!.arrayBuffer()), o.customMetadata ? { customMetadata: o.customMetadata } : {})
      }
      const count = (await duck.runAndReadAll('SELECT COUNT(*) AS n FROM WorkerRequests_files')).getRowObjects()[0]!.n
      out.workerRequestsRows = Number(count)
      expect(Number(count)).toBeGreaterThan(EVENTS * 0.8)
    }, 3_600_000)

    for (const name of Object.keys(SPEC_QUERIES)) {
      it(`${name}: ours vs DuckDB (same files; in memory), same answer`, async () => {
        const sql = SPEC_QUERIES[name]!
        // The three aggregates run columnar; the recent exceptions over a scan read newest first and
        // stopped at the limit; the log search (ordered by each log line's own time, not the view's
        // time column) on the row engine over every row of the hour.
        const columnar = /GROUP BY/.test(sql)
        const path = columnar ? 'columnar' : /FROM WorkerLogs/.test(sql) ? 'rows' : 'sorted'
        if (path === 'rows' && EVENTS > ROW_PATH_MAX) {
          out[name] = { skipped: `row path; over ${ROW_PATH_MAX} events it holds every row to sort (BENCH_SQL_ROW_PATH_MAX)` }
          return
        }
        const warm = columnar ? 5 : 1
        const ours = await timed(() => mem.sql.explain([sql] as unknown as TemplateStringsArray), warm)
        const fromFolder = await timed(() => db.sql.explain([sql] as unknown as TemplateStringsArray), warm)
        const files = await timed(async () => (await duck.runAndReadAll(forDuck(sql, '_files'))).getRowObjects(), 3)
        const inMemory = await timed(async () => (await duck.runAndReadAll(forDuck(sql, '_mem'))).getRowObjects(), 3)
        expect(ours.value.scans.map(s => s.path)).toEqual([path])
        const a = normal(ours.value.rows)
        const b = normal(files.value as Record<string, unknown>[])
        expect(a.length).toBe(b.length)
        const keys = ORDER_KEYS[name]!
        expect(a.map(r => keys.map(k => r[k]))).toEqual(b.map(r => keys.map(k => r[k])))
        if (!/LIMIT/.test(sql)) {
          const sorted = (rows: Record<string, unknown>[]) => rows.map(r => JSON.stringify(Object.entries(r).sort())).sort()
          expect(sorted(a)).toEqual(sorted(b))
        }
        out[name] = {
          path: ours.value.scans.map(s => s.path).join(','), rows: a.length, ms: { min: ours.min, median: ours.median },
          duckdbFilesMs: { min: files.min, median: files.median }, duckdbMemoryMs: { min: inMemory.min, median: inMemory.median },
          ratioVsFiles: +(ours.min / files.min).toFixed(2), ratioVsMemory: +(ours.min / inMemory.min).toFixed(2),
          folderBucketMs: { min: fromFolder.min, median: fromFolder.median },
          read: ours.value.scans.map(({ stats: x }) => ({
            files: `${x.filesRead}/${x.filesConsidered}`, rowGroups: `${x.rowGroupsRead}/${x.rowGroupsConsidered}`,
            segments: `${x.segmentsRead}/${x.segmentsConsidered}`, rows: x.rowsRead,
          })),
        }
        console.log(EVENTS, name, JSON.stringify(out[name]))
      })
    }

    it('errorRates in a child capped at 128 MB of heap', async () => {
      const { stdout } = await run(process.execPath, ['--max-old-space-size=128', 'bench/sql_child.mjs', join(dir, 'bucket'), String(NOW), SPEC_QUERIES.errorRates!, String(RUNS)], { maxBuffer: 1 << 24 })
      const child = JSON.parse(stdout) as { times: number[]; peakRss: number; peakHeap: number; rows: number; paths: string[] }
      expect(child.paths).toEqual(['columnar'])
      out.errorRatesMemory = {
        peakHeapMB: +(child.peakHeap / 2 ** 20).toFixed(1), peakRssMB: +(child.peakRss / 2 ** 20).toFixed(1),
        minMs: Math.round(Math.min(...child.times)),
      }
      console.log(EVENTS, 'memory', JSON.stringify(out.errorRatesMemory))
    })

    it('records the results', async () => {
      duck.closeSync()
      instance.closeSync()
      // Runs at one size keep the figures of the others.
      const file = 'bench/results/sql-latest.json'
      const before = await readFile(file, 'utf8').then(t => JSON.parse(t) as Record<string, unknown>, () => ({}))
      await writeFile(file, JSON.stringify({ ...before, ...results }, null, 2) + '\n')
    })
  })
}
