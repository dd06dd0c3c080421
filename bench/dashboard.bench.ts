import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { DB } from '../src/index.js'
import { FsBucket } from '../src/storage/fs_bucket.js'
import { LatencyBucket, WORKER_CONNECTIONS } from '../src/storage/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../src/tail/index.js'
import { makeEvents } from '../test/helpers/events.js'
import { EVENTS, HOUR, T0, NOW } from './scenario.js'

/**
 * The dashboard's panels on a day of events (BENCH_EVENTS, 30,000 by default, compacted), each the
 * admin API's answer through db.fetchAdmin, beside DuckDB (1 thread) answering the Overview's
 * question from the same files. Min and median of 3 warm runs; results in bench/results/dashboard.json.
 */
const TOKEN = 'bench'
const schema = { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }
const results: Record<string, unknown> = { events: EVENTS, node: process.version, date: new Date().toISOString() }

async function timed(fn: () => Promise<unknown>, reps = 3): Promise<{ minMs: number; medianMs: number }> {
  await fn()
  const ms: number[] = []
  for (let i = 0; i < reps; i++) {
    const t = performance.now()
    await fn()
    ms.push(performance.now() - t)
  }
  ms.sort((a, b) => a - b)
  return { minMs: Math.round(ms[0]!), medianMs: Math.round(ms[Math.floor(ms.length / 2)]!) }
}

describe(`dashboard panels on ${EVENTS} TailEvents over 24 h`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parquedb-bench-dash-'))
  const bucket = new FsBucket(join(dir, 'bucket'))
  const db = DB(schema, { storage: bucket, now: () => NOW })
  const events = makeEvents(EVENTS, { start: T0, spanMs: 24 * HOUR, seed: 11 })
  for (let i = 0; i < events.length; i += 500) await db.TailEvents.bulkCreate(events.slice(i, i + 500))
  for (let i = 0; i < 50 && (await db.compact()).backlogSegments > 0; i++) { /* until the backlog is gone */ }
  const env = { PARQUEDB_ADMIN_TOKEN: TOKEN }
  const admin = async (target: typeof db, path: string, body: unknown) => {
    const res = (await target.fetchAdmin(new Request(`http://b${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body),
    }), env))!
    expect(res.status).toBe(200)
    return res.json() as Promise<Record<string, unknown>>
  }
  const files = (await (await db.fetchAdmin(new Request('http://b/admin/files?collection=TailEvents', {
    headers: { authorization: `Bearer ${TOKEN}` },
  }), env))!.json() as { files: { key: string }[] }).files.map(f => `'${join(dir, 'bucket/objects', f.key)}'`)
  const duck = await (await DuckDBInstance.create(undefined, { threads: '1' })).connect()
  const q = async (sql: string) => (await duck.runAndReadAll(sql)).getRowObjectsJson()

  for (const hours of [1, 24]) {
    it(`Overview over ${hours} h: per-minute-or-coarser buckets per script, vs DuckDB GROUP BY with quantiles`, async () => {
      const from = NOW - HOUR - hours * HOUR
      const to = NOW - HOUR
      const body = { from, to }
      const ours = await timed(() => admin(db, '/admin/overview', body))
      const answer = await admin(db, '/admin/overview', body) as { bucketMs: number; stats: unknown;
        summary: Record<string, { requests: number }> }
      const sql = `SELECT scriptName, time_bucket(INTERVAL '${answer.bucketMs / 60_000} minutes', eventTimestamp) AS b,
        COUNT(*) AS n, SUM(CASE WHEN outcome <> 'ok' THEN 1 ELSE 0 END) AS errors,
        quantile_disc(wallTime, [0.5, 0.95, 0.99]) AS q
        FROM read_parquet([${files.join(', ')}])
        WHERE eventTimestamp >= epoch_ms(${from}) AND eventTimestamp < epoch_ms(${to}) GROUP BY 1, 2`
      const theirs = await timed(() => q(sql))
      const duckRows = await q(sql) as { scriptName: string; n: string }[]
      const total = duckRows.reduce((a, r) => a + Number(r.n), 0)
      expect(Object.values(answer.summary).reduce((a, s) => a + s.requests, 0)).toBe(total)
      results[`overview${hours}h`] = { ours, duckdb: theirs, ratioMin: +(ours.minMs / theirs.minMs).toFixed(1),
        rows: total, stats: answer.stats }
    })
  }

  it('Errors, Events and Overview over 1 h on R2-like latency, inside a Worker\'s 6 connections', async () => {
    const slow = new LatencyBucket(bucket, { connections: WORKER_CONNECTIONS, seed: 3 })
    const remote = DB(schema, { storage: slow, now: () => NOW })
    const range = { from: NOW - 2 * HOUR, to: NOW - HOUR }
    const one = async (path: string, body: unknown) => {
      slow.resetCounts()
      const t = performance.now()
      const r = await admin(remote, path, body) as { stats: unknown }
      return { ms: Math.round(performance.now() - t), requests: { ...slow.ops }, stats: r.stats }
    }
    results.onR2 = {
      overview1h: await one('/admin/overview', range),
      errors1h: await one('/admin/errors', range),
      events1h: await one('/admin/events', { ...range, outcome: 'exception', limit: 200 }),
    }
    results.errors24h = await timed(() => admin(db, '/admin/errors', { from: NOW - 25 * HOUR, to: NOW - HOUR }))
    results.events24h = await timed(() => admin(db, '/admin/events', { from: NOW - 25 * HOUR, text: 'orders', limit: 200 }))
    await writeFile(join(import.meta.dirname, 'results/dashboard.json'), `${JSON.stringify(results, null, 2)}\n`)
  })
})
