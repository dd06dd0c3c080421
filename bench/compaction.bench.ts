import { mkdtemp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { DB } from '../src/index.js'
import { loadManifest } from '../src/manifest/index.js'
import { FsBucket } from '../src/storage/fs_bucket.js'
import { type Bucket, CountingBucket, MemoryBucket } from '../src/storage/index.js'
import { TailEvents } from '../src/tail/index.js'
import { makeEvents } from '../test/helpers/events.js'
import { EVENTS, BATCH, HOUR, T0, NOW } from './scenario.js'

// Compaction throughput and file size, side by side with DuckDB in the same run (issue 12).
// Both sides start from the same NDJSON (the WAL segments) and end with Parquet files per hour,
// Snappy, rows sorted by time: JSON parsing is in both. DuckDB runs on one thread. Each figure is
// the min and median of RUNS warm runs (after one warm-up).
const run = promisify(execFile)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const results: Record<string, unknown> = { events: EVENTS, runs: RUNS, node: process.version, date: new Date().toISOString() }

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { min: +s[0]!.toFixed(1), median: +s[Math.floor((s.length - 1) / 2)]!.toFixed(1) }
}

async function dirBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0
  let files = 0
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.parquet')) continue
    bytes += (await stat(join(e.parentPath, e.name))).size
    files++
  }
  return { bytes, files }
}

describe(`compaction of ${EVENTS} TailEvents over 24 h vs DuckDB per-hour COPY (1 thread)`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parquedb-compaction-bench-'))
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const duck = await instance.connect()
  const random = makeEvents(EVENTS, { start: T0, spanMs: 24 * HOUR, seed: 7 })
  const ordered = [...random].sort((a, b) => +a.eventTimestamp - +b.eventTimestamp)

  async function backlog(events: typeof random, into: Bucket = new MemoryBucket()): Promise<Bucket> {
    const w = DB({ TailEvents }, { storage: into, now: () => NOW })
    for (let i = 0; i < events.length; i += BATCH) await w.TailEvents.bulkCreate(events.slice(i, i + BATCH))
    return into
  }

  // Parquet bytes written apart from the rest (manifest commits, pass summary, quarantine).
  const parquetPuts = (inner: Bucket) => {
    const put = { bytes: 0 }
    const bucket: Bucket = Object.assign(Object.create(inner) as Bucket, {
      put: (key: string, value: Uint8Array | string, opts?: never) => {
        if (key.startsWith('data/')) put.bytes += typeof value === 'string' ? value.length : value.byteLength
        return inner.put(key, value, opts)
      },
    })
    return { bucket, put }
  }

  async function scenario(name: string, events: typeof random) {
    // Ours: one full pass over the backlog, CPU and wall time; bytes written vs bytes kept.
    const cpu: number[] = []
    const wall: number[] = []
    let last!: { kept: number; written: number; files: number; bucket: Bucket }
    for (let r = 0; r <= RUNS; r++) {
      const counting = new CountingBucket(await backlog(events))
      const watched = parquetPuts(counting)
      const db = DB({ TailEvents }, { storage: watched.bucket, now: () => NOW })
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const pass = await db.compact({ timeBudgetMs: 600_000 })
      const ms = performance.now() - t0
      const used = process.cpuUsage(c0)
      expect(pass.rowsCompacted).toBe(EVENTS)
      const files = (await loadManifest(counting, '', NOW)).manifest.collections.TailEvents!.files
      expect(files.reduce((n, f) => n + f.rows, 0)).toBe(EVENTS)
      const kept = files.reduce((n, f) => n + f.bytes, 0)
      last = { kept, written: watched.put.bytes, files: files.length, bucket: counting }
      if (r === 0) continue // warm-up
      cpu.push((used.user + used.system) / 1000)
      wall.push(ms)
    }
    // DuckDB: the same WAL segments (NDJSON) to one Parquet file per hour, sorted by time.
    const wal = join(dir, `${name}-wal`)
    await mkdir(wal, { recursive: true })
    const listed = await last.bucket.list({ prefix: 'wal/TailEvents/' })
    expect(listed.truncated).toBe(false)
    // The pass consumed the segments but keeps them for the grace period: they are all still there.
    await Promise.all(listed.objects.map(async (o, i) =>
      writeFile(join(wal, `${String(i).padStart(5, '0')}.ndjson`), new Uint8Array(await (await last.bucket.get(o.key))!.arrayBuffer()))))
    const duckMs: number[] = []
    const duckCpu: number[] = []
    let duckOut = { bytes: 0, files: 0 }
    for (let r = 0; r <= RUNS; r++) {
      const out = join(dir, `${name}-duck-${r}`)
      // DuckDB runs in this process (one thread), so its CPU time is measured the same way as ours.
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      await duck.run(`COPY (SELECT *, strftime(epoch_ms(eventTimestamp::BIGINT), '%Y-%m-%d') AS dt, hour(epoch_ms(eventTimestamp::BIGINT)) AS hr
        FROM read_ndjson_auto('${wal}/*.ndjson') ORDER BY eventTimestamp)
        TO '${out}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (dt, hr))`)
      const ms = performance.now() - t0
      const used = process.cpuUsage(c0)
      duckOut = await dirBytes(out)
      await rm(out, { recursive: true, force: true })
      if (r > 0) { duckMs.push(ms); duckCpu.push((used.user + used.system) / 1000) }
    }
    const ourCpu = stats(cpu)
    const ourWall = stats(wall)
    const theirs = stats(duckMs)
    const theirCpu = stats(duckCpu)
    const out = {
      ours: {
        cpuMs: ourCpu, wallMs: ourWall,
        eventsPerCpuSecond: { best: Math.round(EVENTS / (ourCpu.min / 1000)), median: Math.round(EVENTS / (ourCpu.median / 1000)) },
        // Parquet bytes written over Parquet bytes kept: 1 when every row is written once.
        files: last.files, parquetBytes: last.kept, writeAmplification: +(last.written / last.kept).toFixed(2),
      },
      duckdb: {
        cpuMs: theirCpu, wallMs: theirs, eventsPerCpuSecond: Math.round(EVENTS / (theirCpu.min / 1000)),
        files: duckOut.files, parquetBytes: duckOut.bytes,
      },
      // ratios of the medians (and of the mins): ours over DuckDB's
      cpuVsDuckdb: { median: +(ourCpu.median / theirCpu.median).toFixed(2), min: +(ourCpu.min / theirCpu.min).toFixed(2) },
      wallVsDuckdb: { median: +(ourWall.median / theirs.median).toFixed(2), min: +(ourWall.min / theirs.min).toFixed(2) },
      bytesVsDuckdb: +(last.kept / duckOut.bytes).toFixed(3),
    }
    console.log(name, JSON.stringify(out))
    return out
  }

  it('time-ordered arrival (the main case): one pass over the backlog', async () => {
    results.timeOrdered = await scenario('ordered', ordered)
  })

  it('random arrival over 24 h (the worst case): one pass over the backlog', async () => {
    results.randomOrder = await scenario('random', random)
  })

  it('the time-ordered pass with the pre-built views, under a 128 MB heap', async () => {
    const bucketDir = join(dir, 'views-bucket')
    await backlog(ordered, new FsBucket(bucketDir))
    const { stdout } = await run(process.execPath,
      ['--max-old-space-size=128', 'bench/compact_child.mjs', bucketDir, String(NOW), '{}', 'views'], { maxBuffer: 1 << 24 })
    const child = JSON.parse(stdout) as { ms: number; peakHeap: number; peakRss: number; pass: { rowsCompacted: number } }
    expect(child.pass.rowsCompacted).toBe(EVENTS)
    results.viewsPass = { ms: Math.round(child.ms), peakHeapMB: +(child.peakHeap / 2 ** 20).toFixed(1), peakRssMB: +(child.peakRss / 2 ** 20).toFixed(1) }
  })

  // A pass a minute over 2 h of traffic, then the hours go quiet: what the passes write, what a pass
  // costs in requests, and what a one-hour find over the active hour opens.
  async function steadyState(options: Record<string, number>) {
    const PER_MINUTE = Number(process.env.BENCH_PER_MINUTE ?? 300)
    const MINUTES = 120
    const PASSES = MINUTES + 15
    let clock = T0
    const counting = new CountingBucket(new MemoryBucket())
    const watched = parquetPuts(counting)
    const manifest = { bytes: 0, puts: 0 }
    const bucket: Bucket = Object.assign(Object.create(watched.bucket) as Bucket, {
      put: (key: string, value: Uint8Array | string, opts?: never) => {
        if (key === '_manifest.json') { manifest.puts++; manifest.bytes += typeof value === 'string' ? value.length : value.byteLength }
        return watched.bucket.put(key, value, opts)
      },
    })
    const sdb = DB({ TailEvents }, { storage: bucket, now: () => clock, compaction: options })
    let written = 0
    const ops = { get: 0, put: 0, list: 0, delete: 0 }
    let maxOpened = 0
    let maxGets = 0
    for (let minute = 0; minute < PASSES; minute++) {
      if (minute < MINUTES) {
        const batch = makeEvents(PER_MINUTE, { start: clock, spanMs: 60_000, seed: 1000 + minute })
        for (let i = 0; i < batch.length; i += BATCH) await sdb.TailEvents.bulkCreate(batch.slice(i, i + BATCH))
      }
      clock += 60_000
      const before = { ...counting.ops }
      await sdb.compact()
      written += counting.ops.bytesWritten - before.bytesWritten
      for (const k of Object.keys(ops) as (keyof typeof ops)[]) ops[k] += counting.ops[k] - before[k]
      if (minute < MINUTES && minute % 5 === 4) {
        const q = sdb.TailEvents.find({ eventTimestamp: { $gte: new Date(clock - HOUR), $lt: new Date(clock) } })
        await q
        maxOpened = Math.max(maxOpened, q.stats!.filesRead + q.stats!.segmentsRead)
        maxGets = Math.max(maxGets, q.stats!.ops.get)
      }
    }
    const files = (await loadManifest(counting, '', clock)).manifest.collections.TailEvents!.files
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(PER_MINUTE * MINUTES)
    const kept = files.reduce((n, f) => n + f.bytes, 0)
    const perPass = (n: number) => +(n / PASSES).toFixed(2)
    return {
      eventsPerMinute: PER_MINUTE, minutes: MINUTES, passes: PASSES, options, filesAtEnd: files.length, parquetBytes: kept,
      // Parquet bytes the passes wrote over the Parquet bytes kept (each row's rewrites).
      writeAmplification: +(watched.put.bytes / kept).toFixed(2),
      // Every byte the passes wrote (manifest commits and pass summaries too) over what is kept.
      allBytesWrittenOverKept: +(written / kept).toFixed(2),
      manifestCommits: manifest.puts, manifestBytesPerCommit: Math.round(manifest.bytes / manifest.puts),
      requestsPerPass: { get: perPass(ops.get), put: perPass(ops.put), list: perPass(ops.list), delete: perPass(ops.delete) },
      // The most objects (Parquet files and WAL segments) a one-hour find over the active hour opened.
      activeHourFindMaxObjects: maxOpened, activeHourFindMaxGets: maxGets,
    }
  }

  it('steady state: a pass a minute over 2 h of traffic, then the hours go quiet', async () => {
    results.steadyState = await steadyState({})
    console.log('steady state', JSON.stringify(results.steadyState))
    // The same traffic with the WAL folded every pass (holdWalMs 0), for comparison.
    results.steadyStateFoldEveryPass = await steadyState({ holdWalMs: 0 })
    console.log('steady state, fold every pass', JSON.stringify(results.steadyStateFoldEveryPass))
  })

  it('records the results', async () => {
    const out = JSON.stringify(results, null, 2)
    console.log(out)
    await writeFile('bench/results/compaction.json', out + '\n')
  })
})
