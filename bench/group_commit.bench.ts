import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { Miniflare } from 'miniflare'
import { describe, expect, it } from 'vitest'
import { DEFAULT_BUFFER } from '../src/index.js'
import { REMEMBER_KEYS_MS, RETAIN_MS } from '../src/ingest/index.js'
import type { Bucket } from '../src/storage/index.js'
import { bundleTailWorker } from '../test/helpers/bundle.js'

/**
 * Group commit: what storing tail events costs per event, direct (one R2 PUT per tail() call) and
 * through the ParqueDBBuffer shards (default settings), measured on real workerd Durable Objects
 * and local R2 under Miniflare, with producer workers invoked at RATE requests a second (one
 * TraceItem each, as a production tail() usually carries). Operation counts are measured; dollars
 * are those counts times the prices below (docs/costs.md explains each).
 */
const RATE = Number(process.env.BENCH_GC_RATE ?? 100)
const SECONDS = Number(process.env.BENCH_GC_SECONDS ?? 60)
const DIRECT_SECONDS = Number(process.env.BENCH_GC_DIRECT_SECONDS ?? 10)

/** USD, Workers Paid, as published late 2026. */
export const PRICES = {
  r2ClassAPerM: 4.5, // PUT, LIST
  r2ClassBPerM: 0.36, // GET, HEAD
  doRequestPerM: 0.15, // requests and alarm invocations
  doDurationPerMGbS: 12.5, // wall time while active, 128 MB per object
  doRowsWrittenPerM: 1.0, // SQLite rows inserted, updated or deleted
  observabilityPerGb: 0.25, // Cloudflare Workers observability, per GB ingested (from December 2026)
}
/** Assumed wall time a shard is active per request (an append is one SQLite insert and its commit). */
const DO_MS_PER_REQUEST = 10

const PRODUCER = 'export default { async fetch(request) { return new Response("ok") } }'

interface ShardStatus { alarms: number; rowsWritten: number; flushedSegments: number; events: number; starts: number }

async function run(mode: 'direct' | 'buffered', seconds: number) {
  const script = await bundleTailWorker('test/fixtures/buffer-worker/wrangler.toml')
  const mf = new Miniflare({
    cf: false,
    workers: [
      { name: 'producer', modules: true, script: PRODUCER, compatibilityDate: '2025-04-01', tails: ['buffer-tail'] },
      {
        name: 'buffer-tail', modules: script, compatibilityDate: '2025-04-01', r2Buckets: ['PARQUEDB'],
        durableObjects: { PARQUEDB_BUFFER: { className: 'ParqueDBBuffer', useSQLite: true } },
        bindings: { MODE: mode, SHARDS: String(DEFAULT_BUFFER.shards), MAX_WAIT_MS: String(DEFAULT_BUFFER.maxWaitMs) },
      },
    ],
  })
  try {
    const producer = await mf.getWorker('producer')
    const events = RATE * seconds
    const started = performance.now()
    const inflight: Promise<unknown>[] = []
    for (let i = 0; i < events; i++) {
      const due = started + (i * 1000) / RATE
      const wait = due - performance.now()
      if (wait > 0) await new Promise(r => setTimeout(r, wait))
      inflight.push(producer.fetch(`https://app.example.com/?i=${i}`).then(r => r.text()))
    }
    await Promise.all(inflight)
    const sentMs = performance.now() - started
    const bucket = (await mf.getR2Bucket('PARQUEDB', 'buffer-tail')) as unknown as Bucket
    const wal = async () => {
      const objects = (await bucket.list({ prefix: 'wal/TailEvents/' })).objects
      let rows = 0, bytes = 0
      for (const o of objects) {
        const text = await (await bucket.get(o.key))!.text()
        rows += text.split('\n').filter(Boolean).length
        bytes += o.size
      }
      return { segments: objects.length, rows, bytes }
    }
    // Every event reaches the WAL: at once when direct, within maxWaitMs through the shards' alarms.
    let w = await wal()
    for (let t = 0; w.rows < events && t < 600; t++) { await new Promise(r => setTimeout(r, 100)); w = await wal() }
    expect(w.rows).toBe(events)
    const tail = await mf.getWorker('buffer-tail')
    const status = async () => ((await (await tail.fetch('http://t/status')).json()) as { buffers?: { shards: ShardStatus[] } })
      .buffers?.shards ?? []
    if (mode === 'buffered') {
      // Let the shards drop what they flushed (RETAIN_MS after each PUT), so every row they write is counted.
      await new Promise(r => setTimeout(r, RETAIN_MS + 3000))
    }
    const shards = await status()
    const alarms = shards.reduce((n, s) => n + s.alarms, 0)
    // The flush records are deleted REMEMBER_KEYS_MS after their PUT: one more row each, not waited for.
    const rowsWritten = shards.reduce((n, s) => n + s.rowsWritten, 0) + shards.reduce((n, s) => n + s.flushedSegments, 0)
    const doRequests = mode === 'buffered' ? events + alarms : 0
    return {
      mode, events, seconds, sentMs: Math.round(sentMs), walSegments: w.segments, walBytes: w.bytes,
      bytesPerEvent: Math.round(w.bytes / events), r2ClassAPerEvent: w.segments / events,
      doRequestsPerEvent: doRequests / events, doAlarms: alarms, doRowsWrittenPerEvent: rowsWritten / events,
      shardsUsed: shards.filter(s => s.flushedSegments > 0).length,
      shardStarts: shards.reduce((n, s) => n + s.starts, 0),
    }
  } finally {
    await mf.dispose()
  }
}

type Run = Awaited<ReturnType<typeof run>>

/** $ per million events, from measured counts per event. */
function costPerMillion(r: Run) {
  const r2 = r.r2ClassAPerEvent * PRICES.r2ClassAPerM
  const requests = r.doRequestsPerEvent * PRICES.doRequestPerM
  const rows = r.doRowsWrittenPerEvent * PRICES.doRowsWrittenPerM
  const duration = r.doRequestsPerEvent * 1e6 * (DO_MS_PER_REQUEST / 1000) * 0.128 * PRICES.doDurationPerMGbS / 1e6
  const round = (x: number) => Math.round(x * 1000) / 1000
  return {
    r2Puts: round(r2), doRequests: round(requests), doRowsWritten: round(rows), doDurationEstimate: round(duration),
    total: round(r2 + requests + rows + duration),
    cloudflareObservability: round((r.bytesPerEvent * 1e6 / 1e9) * PRICES.observabilityPerGb),
  }
}

describe(`group commit at ${RATE} events/s: R2 writes and $ per event, direct vs buffered`, () => {
  it('measures both modes and writes bench/results/group_commit.json', async () => {
    const direct = await run('direct', DIRECT_SECONDS)
    const buffered = await run('buffered', SECONDS)
    expect(direct.r2ClassAPerEvent).toBe(1) // one PUT per tail() call
    const results = {
      date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg().map(l => +l.toFixed(2)),
      note: 'shared, loaded machine (2 cores, other jobs running): counts are exact, times are not',
      rate: RATE, settings: { ...DEFAULT_BUFFER, retainMs: RETAIN_MS, rememberKeysMs: REMEMBER_KEYS_MS },
      prices: PRICES, doMsPerRequestAssumed: DO_MS_PER_REQUEST,
      direct: { ...direct, costPerMillionEvents: costPerMillion(direct) },
      buffered: { ...buffered, costPerMillionEvents: costPerMillion(buffered) },
      r2WritesCut: Math.round(direct.r2ClassAPerEvent / buffered.r2ClassAPerEvent),
    }
    console.table({
      direct: { classAPerEvent: direct.r2ClassAPerEvent, doReqPerEvent: 0, usdPerM: results.direct.costPerMillionEvents.total },
      buffered: {
        classAPerEvent: +buffered.r2ClassAPerEvent.toFixed(4), doReqPerEvent: +buffered.doRequestsPerEvent.toFixed(3),
        usdPerM: results.buffered.costPerMillionEvents.total,
      },
      cloudflare: { classAPerEvent: 0, doReqPerEvent: 0, usdPerM: results.buffered.costPerMillionEvents.cloudflareObservability },
    })
    await mkdir('bench/results', { recursive: true })
    await writeFile('bench/results/group_commit.json', JSON.stringify(results, null, 2) + '\n')
    expect(buffered.r2ClassAPerEvent).toBeLessThanOrEqual(0.02)
  })
})
