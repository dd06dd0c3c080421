import { execFile } from 'node:child_process'
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DuckDBInstance } from '@duckdb/node-api'
import { performance } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { DB } from '../src/index.js'
import { loadManifest } from '../src/manifest/index.js'
import { FsBucket } from '../src/storage/fs_bucket.js'
import { CountingBucket, LatencyBucket, MemoryBucket, WORKER_CONNECTIONS, type Bucket } from '../src/storage/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../src/tail/index.js'
import { makeEvents } from '../test/helpers/events.js'
import { EVENTS, BATCH, HOUR, T0, NOW } from './scenario.js'

const run = promisify(execFile)
const results: Record<string, unknown> = { events: EVENTS, batch: BATCH, node: process.version, date: new Date().toISOString() }

async function timeIt<T>(fn: () => Promise<T>, reps = 3): Promise<{ ms: number; value: T }> {
  let best = Infinity
  let value!: T
  for (let i = 0; i < reps; i++) {
    const t = performance.now()
    value = await fn()
    best = Math.min(best, performance.now() - t)
  }
  return { ms: best, value }
}

describe(`tail engine vs DuckDB, ${EVENTS} TailEvents over 24 h`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parquedb-bench-'))
  const bucket = new FsBucket(join(dir, 'bucket'))
  const db = DB({ TailEvents }, { storage: bucket, now: () => NOW })
  const events = makeEvents(EVENTS, { start: T0, spanMs: 24 * HOUR, seed: 7 })
  const duck = await (await DuckDBInstance.create()).connect()
  const q = async (sql: string) => (await duck.runAndReadAll(sql)).getRowObjectsJson()

  it('ingest: bulkCreate batches of 50 into the WAL (one PUT each)', async () => {
    const counting = new CountingBucket(bucket)
    const w = DB({ TailEvents }, { storage: counting, now: () => NOW })
    const t = performance.now()
    for (let i = 0; i < events.length; i += BATCH) await w.TailEvents.bulkCreate(events.slice(i, i + BATCH))
    const ms = performance.now() - t
    results.ingest = { ms, eventsPerSec: Math.round(EVENTS / (ms / 1000)), puts: counting.ops.put, walBytes: counting.ops.bytesWritten }
    expect(counting.ops.put).toBe(Math.ceil(EVENTS / BATCH))
  })

  it('compaction: WAL → hour-partitioned Parquet, under a 128 MB heap, vs DuckDB NDJSON → Parquet', async () => {
    // Our pass runs in a child capped at 128 MB of heap; it fails outright if it needs more.
    const { stdout } = await run(process.execPath, ['--max-old-space-size=128', 'bench/compact_child.mjs', join(dir, 'bucket'), String(NOW), '{}'], { maxBuffer: 1 << 24 })
    const child = JSON.parse(stdout) as { ms: number; peakRss: number; peakHeap: number; pass: { rowsCompacted: number; filesWritten: number } }
    expect(child.pass.rowsCompacted).toBe(EVENTS)
    const { manifest } = await loadManifest(bucket, '', 0)
    const files = manifest.collections.TailEvents!.files
    const ourBytes = files.reduce((n, f) => n + f.bytes, 0)

    // DuckDB: the same WAL segments (NDJSON) to one Parquet file, inferring structs.
    const walDir = join(dir, 'bucket', 'objects', 'wal', 'TailEvents')
    const duckOut = join(dir, 'duck.parquet')
    const d = await timeIt(() => duck.run(`COPY (SELECT * FROM read_ndjson_auto('${walDir}/*.ndjson') ORDER BY eventTimestamp) TO '${duckOut}' (FORMAT parquet, COMPRESSION snappy)`), 1)
    const duckBytes = (await readFile(duckOut)).byteLength
    const walBytes = (results.ingest as { walBytes: number }).walBytes
    results.compaction = {
      ms: Math.round(child.ms), duckdbMs: Math.round(d.ms), timeRatio: +(child.ms / d.ms).toFixed(2),
      peakRssMB: +(child.peakRss / 2 ** 20).toFixed(1), peakHeapMB: +(child.peakHeap / 2 ** 20).toFixed(1),
      files: files.length, parquetBytes: ourBytes, duckdbParquetBytes: duckBytes, sizeRatio: +(ourBytes / duckBytes).toFixed(2),
      compressionVsNdjson: +(walBytes / ourBytes).toFixed(1),
    }
    await mkdir(join(dir, 'ours'), { recursive: true })
    await Promise.all(files.map(async (f, i) => writeFile(join(dir, 'ours', `${String(i).padStart(4, '0')}.parquet`), new Uint8Array(await (await bucket.get(f.key))!.arrayBuffer()))))
  })

  it('full scan of every row vs DuckDB reading the same Parquet files', async () => {
    const ours = await timeIt(async () => { let n = 0; for await (const _ of db.TailEvents.find()) n++; return n })
    expect(ours.value).toBe(EVENTS)
    const theirs = await timeIt(() => q(`SELECT * FROM read_parquet('${join(dir, 'ours')}/*.parquet')`))
    expect(theirs.value.length).toBe(EVENTS)
    results.fullScan = { ms: Math.round(ours.ms), duckdbMs: Math.round(theirs.ms), ratio: +(ours.ms / theirs.ms).toFixed(2) }
  })

  it('one-hour range read (manifest pruning) vs DuckDB with the same time filter', async () => {
    const from = T0 + 12 * HOUR
    const to = from + HOUR
    const hour = { eventTimestamp: { $gte: new Date(from), $lt: new Date(to) } }
    const ours = await timeIt(async () => (await db.TailEvents.find(hour)).length)
    const theirs = await timeIt(async () => (await q(`SELECT * FROM read_parquet('${join(dir, 'ours')}/*.parquet') WHERE eventTimestamp >= epoch_ms(${from}) AND eventTimestamp < epoch_ms(${to})`)).length)
    expect(ours.value).toBe(theirs.value)
    const stats = await db.TailEvents.find(hour).explain()
    results.hourScan = { rows: ours.value, ms: +ours.ms.toFixed(1), duckdbMs: +theirs.ms.toFixed(1), ratio: +(ours.ms / theirs.ms).toFixed(2), filesRead: stats.filesRead, r2Gets: stats.ops.get, r2Lists: stats.ops.list }
  })

  it('SQL: the spec error-rate query over the last 24 h vs DuckDB over the same Parquet files', async () => {
    const query = `SELECT scriptName, COUNT(*) AS total, SUM(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) AS errors
      FROM TailEvents WHERE eventTimestamp > NOW() - INTERVAL '24 hours' GROUP BY scriptName ORDER BY scriptName`
    const ours = await timeIt(() => db.sql([query] as unknown as TemplateStringsArray))
    const at = new Date(NOW).toISOString().replace('T', ' ').replace('Z', '')
    const theirs = await timeIt(() => q(query.replace('FROM TailEvents', `FROM read_parquet('${join(dir, 'ours')}/*.parquet')`).replace('NOW()', `TIMESTAMP '${at}'`)))
    expect(ours.value.map(r => Number(r.total))).toEqual(theirs.value.map(r => Number(r.total)))
    results.sqlErrorRates = { ms: Math.round(ours.ms), duckdbMs: Math.round(theirs.ms), ratio: +(ours.ms / theirs.ms).toFixed(2) }
  })

  it('view maintenance: compaction with the spec views (3 row views, 2 aggregates) vs without', async () => {
    // Memory first: the pre-built views' pass in a child capped at 128 MB of heap.
    const memBucket = new FsBucket(join(dir, 'views-mem-bucket'))
    const memDb = DB({ TailEvents }, { storage: memBucket, now: () => NOW })
    for (let i = 0; i < events.length; i += BATCH) await memDb.TailEvents.bulkCreate(events.slice(i, i + BATCH))
    const { stdout } = await run(process.execPath, ['--max-old-space-size=128', 'bench/compact_child.mjs', join(dir, 'views-mem-bucket'), String(NOW), '{}', 'views'], { maxBuffer: 1 << 24 })
    const child = JSON.parse(stdout) as { ms: number; peakRss: number; peakHeap: number; pass: { rowsCompacted: number } }
    expect(child.pass.rowsCompacted).toBe(EVENTS)
    results.viewsPassMemory = { peakRssMB: +(child.peakRss / 2 ** 20).toFixed(1), peakHeapMB: +(child.peakHeap / 2 ** 20).toFixed(1) }

    const withViews = new FsBucket(join(dir, 'views-bucket'))
    const vdb = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests,
      EndpointMetrics: { $from: 'WorkerRequests', $groupBy: ['scriptName', 'method', { hour: '$timestamp' }], $compute: { requestCount: { $count: '*' }, errorRate: { $avg: { $cond: [{ $ne: ['$outcome', 'ok'] }, 1, 0] } } } },
      ColoErrors: { $from: 'WorkerErrors', $groupBy: ['colo', { hour: '$timestamp' }], $compute: { errorCount: { $count: '*' }, uniqueScripts: { $countDistinct: 'scriptName' } } },
    }, { storage: withViews, now: () => NOW })
    for (let i = 0; i < events.length; i += BATCH) await vdb.TailEvents.bulkCreate(events.slice(i, i + BATCH))
    const t = performance.now()
    const pass = await vdb.compact({ timeBudgetMs: 600_000 })
    const ms = performance.now() - t
    expect(pass.rowsCompacted).toBe(EVENTS)
    const plain = (results.compaction as { ms: number }).ms
    results.viewMaintenance = { ms: Math.round(ms), withoutViewsMs: plain, overhead: +(ms / plain).toFixed(2) }
  })

  it('steady state: a pass every minute over 3 h of traffic, vs DuckDB converting each minute', async () => {
    // What the cron sees in production: each minute's batches arrive, then one pass runs.
    const PER_MINUTE = Number(process.env.BENCH_PER_MINUTE ?? 300)
    const MINUTES = 180
    let clock = T0
    const counting = new CountingBucket(new FsBucket(join(dir, 'steady-bucket')))
    // Each pass folds its minute (holdWalMs 0), to set it beside DuckDB converting that minute; the
    // default, which holds the WAL a few minutes, is measured in compaction.bench.ts.
    const sdb = DB({ TailEvents }, { storage: counting, now: () => clock, compaction: { holdWalMs: 0 } })
    const minuteDir = join(dir, 'steady-minute')
    await mkdir(minuteDir, { recursive: true })
    const passMs: number[] = []
    const duckMs: number[] = []
    let walBytes = 0
    let parquetBytesWritten = 0
    for (let minute = 0; minute < MINUTES; minute++) {
      const batch = makeEvents(PER_MINUTE, { start: clock, spanMs: 60_000, seed: 1000 + minute })
      clock += 60_000
      const before = counting.ops.bytesWritten
      for (let i = 0; i < batch.length; i += BATCH) await sdb.TailEvents.bulkCreate(batch.slice(i, i + BATCH))
      walBytes += counting.ops.bytesWritten - before
      const written = counting.ops.bytesWritten
      const t = performance.now()
      const pass = await sdb.compact()
      passMs.push(performance.now() - t)
      expect(pass.rowsCompacted).toBe(PER_MINUTE)
      parquetBytesWritten += counting.ops.bytesWritten - written
      // DuckDB's share of the same work: this minute's NDJSON to one Parquet file.
      const ndjson = join(minuteDir, 'minute.ndjson')
      await writeFile(ndjson, batch.map(e => JSON.stringify(e)).join('\n'))
      duckMs.push((await timeIt(() => duck.run(`COPY (SELECT * FROM read_ndjson_auto('${ndjson}') ORDER BY eventTimestamp) TO '${join(minuteDir, 'minute.parquet')}' (FORMAT parquet, COMPRESSION snappy)`), 1)).ms)
    }
    const { manifest } = await loadManifest(counting, '', 0)
    const files = manifest.collections.TailEvents!.files
    const storedBytes = files.reduce((n, f) => n + f.bytes, 0)
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(PER_MINUTE * MINUTES)
    const sorted = [...passMs].sort((a, b) => a - b)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const manifestBytes = (await (await counting.get('_manifest.json'))?.arrayBuffer())?.byteLength
    results.steadyState = {
      eventsPerMinute: PER_MINUTE, minutes: MINUTES,
      passMeanMs: +mean(passMs).toFixed(1), passP95Ms: +sorted[Math.floor(sorted.length * 0.95)]!.toFixed(1), passMaxMs: +sorted.at(-1)!.toFixed(1),
      duckdbMinuteMeanMs: +mean(duckMs).toFixed(1), ratio: +(mean(passMs) / mean(duckMs)).toFixed(2),
      writeAmplification: +(parquetBytesWritten / storedBytes).toFixed(2), filesAtEnd: files.length,
      compressionVsNdjson: +(walBytes / storedBytes).toFixed(1), manifestBytes,
      r2OpsPerMinute: Object.fromEntries(Object.entries(counting.ops).filter(([k]) => !k.startsWith('bytes')).map(([k, v]) => [k, +(v / MINUTES).toFixed(1)])),
    }
  })

  it('a busy hour (1,000 events a minute, a pass a minute) then its quiet merge, under a 128 MB heap', async () => {
    const PER_MINUTE = 1000
    const bucketDir = join(dir, 'busy-bucket')
    let clock = T0
    const bdb = DB({ TailEvents }, { storage: new FsBucket(bucketDir), now: () => clock })
    const passMs: number[] = []
    for (let minute = 0; minute < 60; minute++) {
      const batch = makeEvents(PER_MINUTE, { start: clock, spanMs: 60_000, seed: 5000 + minute })
      clock += 60_000
      for (let i = 0; i < batch.length; i += 500) await bdb.TailEvents.bulkCreate(batch.slice(i, i + 500))
      const t = performance.now()
      await bdb.compact()
      passMs.push(performance.now() - t)
    }
    // The hour goes quiet: its merge runs in a child capped at 128 MB of heap.
    const { stdout } = await run(process.execPath, ['--max-old-space-size=128', 'bench/compact_child.mjs', bucketDir, String(clock + 2 * HOUR), '{}'], { maxBuffer: 1 << 24 })
    const child = JSON.parse(stdout) as { ms: number; peakHeap: number; pass: { partitionsMerged: number } }
    expect(child.pass.partitionsMerged).toBeGreaterThan(0)
    const { manifest } = await loadManifest(new FsBucket(bucketDir), '', 0)
    const files = manifest.collections.TailEvents!.files
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(60 * PER_MINUTE)
    results.busyHour = {
      eventsPerMinute: PER_MINUTE, passMaxMs: Math.round(Math.max(...passMs)),
      quietMergeMs: Math.round(child.ms), quietMergeSteps: child.pass.partitionsMerged, peakHeapMB: +(child.peakHeap / 2 ** 20).toFixed(1), filesAtEnd: files.length,
    }
  })

  // R2 answers a Worker in tens of ms, not µs: every request here takes 20 ms ± 5 ms (uniform, seeded),
  // and may complete out of order. Each measurement is also run without latency (the CPU share).
  const LATENCY = { ms: 20, jitterMs: 5 }
  // In Node (the CLI) requests are limited only by the engine; inside a Worker, at most 6 wait for an answer.
  const r2Like = (inner: Bucket, connections?: number) => new LatencyBucket(inner, {
    seed: 20, latency: { get: LATENCY, head: LATENCY, put: LATENCY, list: LATENCY, delete: LATENCY }, connections,
  })
  const requests = (b: LatencyBucket) =>
    ({ ...b.ops, total: b.ops.get + b.ops.head + b.ops.put + b.ops.list + b.ops.delete })
  const latencyResults: Record<string, unknown> = { perRequestMs: '20 ± 5 (uniform), every kind' }

  it('latency: a one-hour find() over 1,000 unflushed WAL segments at 20 ms per request', async () => {
    const SEGMENTS = 1000
    const PER_SEGMENT = 10
    const from = T0 + 30 * HOUR
    const inner = new MemoryBucket()
    const w = DB({ TailEvents }, { storage: inner, now: () => from + 2 * HOUR })
    const hourEvents = makeEvents(SEGMENTS * PER_SEGMENT, { start: from, spanMs: HOUR, seed: 20 })
    for (let i = 0; i < hourEvents.length; i += PER_SEGMENT) {
      await w.TailEvents.bulkCreate(hourEvents.slice(i, i + PER_SEGMENT))
    }
    const hour = { eventTimestamp: { $gte: new Date(from), $lt: new Date(from + HOUR) } }
    const cpu = await timeIt(async () => (await w.TailEvents.find(hour)).length)
    expect(cpu.value).toBe(SEGMENTS * PER_SEGMENT)

    const measure = async (connections?: number) => {
      const slow = r2Like(inner, connections)
      const r = DB({ TailEvents }, { storage: slow, now: () => from + 2 * HOUR })
      const t = performance.now()
      const rows = (await r.TailEvents.find(hour)).length
      const wallMs = performance.now() - t
      expect(rows).toBe(SEGMENTS * PER_SEGMENT)
      expect(slow.inFlight).toBe(0)
      return {
        wallMs: Math.round(wallMs), requests: requests(slow), maxInFlight: slow.maxInFlight,
        sumOfLatenciesMs: Math.round(slow.totalLatencyMs),
      }
    }
    const node = await measure()
    const worker = await measure(WORKER_CONNECTIONS)
    latencyResults.hourFindUnflushed = {
      segments: SEGMENTS, rows: cpu.value, cpuMs: Math.round(cpu.ms), ...node,
      targetMs: 1500, // issue 9: done when this find takes at most 1.5 s at 20 ms per request
      // The same find as a Worker runs it: never under (requests / 6) × 20 ms, whatever the engine's concurrency.
      inWorker: {
        wallMs: worker.wallMs, maxInFlight: worker.maxInFlight,
        floorMs: Math.round((worker.requests.total / WORKER_CONNECTIONS) * LATENCY.ms),
      },
    }
    results.latency = latencyResults
  })

  it('latency: one compaction pass over the bench backlog at 20 ms per request', async () => {
    // The same backlog as the compaction scenario (every event, in batches of 50), in memory buckets:
    // one pass without latency (its CPU share), then the same pass on a copy behind the latency.
    const load = async () => {
      const b = new MemoryBucket()
      const w = DB({ TailEvents }, { storage: b, now: () => NOW })
      for (let i = 0; i < events.length; i += BATCH) await w.TailEvents.bulkCreate(events.slice(i, i + BATCH))
      return b
    }
    const fast = DB({ TailEvents }, { storage: await load(), now: () => NOW })
    let t = performance.now()
    const cpuPass = await fast.compact({ timeBudgetMs: 600_000 })
    const cpuMs = performance.now() - t
    expect(cpuPass.rowsCompacted).toBe(EVENTS)

    const slow = r2Like(await load())
    const sdb = DB({ TailEvents }, { storage: slow, now: () => NOW })
    t = performance.now()
    const elu = performance.eventLoopUtilization()
    const pass = await sdb.compact({ timeBudgetMs: 600_000 })
    const wallMs = performance.now() - t
    // The time the pass spent waiting on storage with nothing else to do: unlike wall - cpuMs, it
    // does not move when a loaded machine slows the CPU part of one run and not the other.
    const waitedMs = performance.eventLoopUtilization(elu).idle
    expect(pass.rowsCompacted).toBe(EVENTS)
    expect(pass.done).toBe(true)
    await slow.idle()
    latencyResults.pass = {
      segments: pass.segmentsCompacted, rows: pass.rowsCompacted, filesWritten: pass.filesWritten,
      wallMs: Math.round(wallMs), cpuMs: Math.round(cpuMs), requests: requests(slow), maxInFlight: slow.maxInFlight,
      sumOfLatenciesMs: Math.round(slow.totalLatencyMs),
      // issue 9: done when wall ≤ CPU + (requests / concurrency) × latency × 1.5, at a concurrency of 16
      targetMs: Math.round(cpuMs + (requests(slow).total / 16) * LATENCY.ms * 1.5),
      // the same target on the waiting alone: waitedMs ≤ (requests / 16) × latency × 1.5
      waitedMs: Math.round(waitedMs), waitTargetMs: Math.round((requests(slow).total / 16) * LATENCY.ms * 1.5),
      // The cron runs the pass in a Worker: no faster than CPU + (requests / 6) × 20 ms.
      inWorkerFloorMs: Math.round(cpuMs + (requests(slow).total / WORKER_CONNECTIONS) * LATENCY.ms),
    }
    console.log('latency pass', JSON.stringify(latencyResults.pass))
    results.latency = latencyResults
  })

  it('tail path: CPU per event of db.tail (TraceItem transform, validation, JSON, segment id)', async () => {
    // Real runtime TraceItems (the e2e fixtures), each delivered as its own tail() call, as the
    // runtime does for one invocation, and in batches of 50; storage is memory, so this is our CPU.
    const items = JSON.parse(await readFile('test/fixtures/trace-items.json', 'utf8')) as Record<string, unknown>[]
    const N = 12_000
    const stream = Array.from({ length: N }, (_, i) => ({ ...items[i % items.length]!, eventTimestamp: T0 + i }))
    // A bucket that takes every PUT and keeps nothing: the memory bucket's own etag hashing would
    // otherwise be most of what is measured, and on R2 that work is not ours.
    const sink: Bucket = {
      get: async () => null, head: async () => null, delete: async () => {},
      put: async (key: string) => ({ key, size: 0, etag: '', uploaded: new Date(0) }),
      list: async () => ({ objects: [], truncated: false, delimitedPrefixes: [] }),
    }
    const perEvent = async (batch: number) => {
      const tdb = DB({ TailEvents }, { storage: sink, now: () => NOW })
      const cpu = process.cpuUsage()
      for (let i = 0; i < N; i += batch) await tdb.tail(stream.slice(i, i + batch) as never)
      const used = process.cpuUsage(cpu)
      return (used.user + used.system) / N
    }
    const runs = async (batch: number) => {
      const us: number[] = []
      for (let r = 0; r < 3; r++) us.push(await perEvent(batch))
      us.sort((a, b) => a - b)
      return { minUs: Math.round(us[0]! * 10) / 10, medianUs: Math.round(us[1]! * 10) / 10 }
    }
    results.tailPath = { events: N, oneEventPerCall: await runs(1), batchesOf50: await runs(50), targetUs: 50 }
    console.log('tail path', JSON.stringify(results.tailPath))
  })

  it('records the results', async () => {
    const out = JSON.stringify(results, null, 2)
    console.log(out)
    await writeFile('bench/results/latest.json', out + '\n')
  })
})
