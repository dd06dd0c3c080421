import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import type { Bucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { type BundledModule, bundleTailWorker } from '../helpers/bundle.js'

/** A producer worker; its TraceItems go to the buffering tail worker. */
const PRODUCER = `
export default {
  async fetch(request) { return new Response('ok') },
}`

const REQUESTS = 1000

describe('end to end with the group-commit buffer: producer workers → tail() → Durable Object shards → WAL', () => {
  let script: BundledModule[]
  let dir: string
  let mf: Miniflare | undefined
  const checks: { checked: number; seen: boolean }[] = []

  /** The runtime, on storage kept in `dir`: starting it again after dispose() is a restart of every object. */
  const start = () => new Miniflare({
    cf: false,
    r2Persist: join(dir, 'r2'),
    durableObjectsPersist: join(dir, 'do'),
    workers: [
      { name: 'api-worker', modules: true, script: PRODUCER, compatibilityDate: '2025-04-01', tails: ['buffer-tail'] },
      {
        name: 'buffer-tail', modules: script, compatibilityDate: '2025-04-01', r2Buckets: ['PARQUEDB'],
        durableObjects: { PARQUEDB_BUFFER: { className: 'ParqueDBBuffer', useSQLite: true } },
        serviceBindings: {
          SINK: async req => { checks.push(JSON.parse(await req.text())); return new Response(null, { status: 204 }) },
        },
      },
    ],
  })

  beforeAll(async () => {
    script = await bundleTailWorker('test/fixtures/buffer-worker/wrangler.toml')
    dir = await mkdtemp(join(tmpdir(), 'parquedb-e2e-buffer-'))
    mf = start()
  })
  afterAll(async () => {
    await mf?.dispose()
    await rm(dir, { recursive: true, force: true })
  })

  it(`${REQUESTS} producer requests: each event stored once, in at most 20 WAL PUTs, seen by a query right after tail(), `
    + 'and kept across a restart of every shard', async () => {
    const api = await mf!.getWorker('api-worker')
    const urls: string[] = []
    for (let i = 0; i < REQUESTS; i += 10) {
      await Promise.all(Array.from({ length: 10 }, async (_, j) => {
        const url = `https://api.example.com/?i=${i + j}${(i + j) % 100 === 0 ? '&check=1' : ''}`
        urls.push(url)
        await (await api.fetch(url)).text()
      }))
    }
    const tail = async () => mf!.getWorker('buffer-tail')
    const count = async () => ((await (await (await tail()).fetch('http://t/count')).json()) as { rows: number }).rows
    for (let t = 0; ((await count()) < REQUESTS || checks.length < 10) && t < 600; t++) await new Promise(r => setTimeout(r, 50))
    // Every 100th invocation queried its own event right after tail() resolved, and saw it once.
    expect(checks).toEqual(Array.from({ length: 10 }, () => ({ checked: 1, seen: true })))
    expect(await count()).toBe(REQUESTS) // through the shards: every event once, flushed or not

    // Kill everything while the shards still hold events (they flush every 10 s at most), and start again.
    const status = (await (await (await tail()).fetch('http://t/status')).json()) as { buffers: { events: number } }
    expect(status.buffers.events).toBeGreaterThan(0)
    await mf!.dispose()
    mf = start()
    expect(await count()).toBe(REQUESTS)

    // The shards' alarms flush the rest; then the WAL alone holds every event once, in few segments.
    const bucket = (await mf.getR2Bucket('PARQUEDB', 'buffer-tail')) as unknown as Bucket
    const walRows = async () => {
      let n = 0
      for (const o of (await bucket.list({ prefix: 'wal/TailEvents/' })).objects) {
        n += (await (await bucket.get(o.key))!.text()).split('\n').filter(Boolean).length
      }
      return n
    }
    for (let t = 0; (await walRows()) < REQUESTS && t < 120; t++) await new Promise(r => setTimeout(r, 250))
    const segments = (await bucket.list({ prefix: 'wal/TailEvents/' })).objects.length
    expect(segments).toBeLessThanOrEqual(20)
    expect(segments).toBeGreaterThanOrEqual(4) // one per shard at least: the load was spread
    const reader = DB({ TailEvents }, { storage: bucket })
    const stored = (await reader.TailEvents.find()).map(r => (r.event as { request: { url: string } }).request.url)
    expect(stored.sort()).toEqual([...urls].sort())
    expect((await reader.compact()).rowsCompacted).toBe(REQUESTS)
    expect(await count()).toBe(REQUESTS)
    console.log(`e2e buffer: ${REQUESTS} tail() calls → ${segments} WAL segments`)
  })
})
