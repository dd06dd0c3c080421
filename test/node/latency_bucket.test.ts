import { describe, expect, it } from 'vitest'
import { LatencyBucket as PublicLatencyBucket, R2_LATENCY as PublicR2Latency } from '../../src/index.js'
import {
  LatencyBucket, MemoryBucket, R2_LATENCY, WORKER_CONNECTIONS, type Bucket, type LatencyOpKind,
} from '../../src/storage/index.js'
import { bucketContract } from '../helpers/bucket_contract.js'

// No assertion here is about time: latencies are tiny (fixed 1 ms or scaled down) and only the
// order of events, the counts and the in-flight numbers are checked.

const KINDS: LatencyOpKind[] = ['get', 'head', 'put', 'list', 'delete']

describe('LatencyBucket behaves like R2', () => {
  bucketContract('latency over memory (random latency, reordering)', async () =>
    new LatencyBucket(new MemoryBucket(), { seed: 3, latency: { get: { medianMs: 1, p99Ms: 4 } }, scale: 0.05 }))
  bucketContract('latency over memory (fixed 1 ms, in order)', async () =>
    new LatencyBucket(new MemoryBucket(), { latency: fixed(1), reorder: false }))
})

describe('LatencyBucket', () => {
  it('is exported from the package', () => {
    expect(PublicLatencyBucket).toBe(LatencyBucket)
    expect(PublicR2Latency).toBe(R2_LATENCY)
  })

  it('draws the same latencies for the same seed, per kind, whatever the interleaving of kinds', () => {
    const a = new LatencyBucket(new MemoryBucket(), { seed: 42 })
    const b = new LatencyBucket(new MemoryBucket(), { seed: 42 })
    const c = new LatencyBucket(new MemoryBucket(), { seed: 43 })
    const getsA = Array.from({ length: 50 }, () => a.draw('get'))
    // b interleaves puts between its gets: the gets' sequence is the same.
    const getsB = Array.from({ length: 50 }, () => (b.draw('put'), b.draw('get')))
    const getsC = Array.from({ length: 50 }, () => c.draw('get'))
    expect(getsB).toEqual(getsA)
    expect(getsC).not.toEqual(getsA)
    expect(new Set(getsA.map(d => d.ms)).size).toBe(50)
  })

  it('defaults follow R2: tens of ms, PUT slower than GET, a p99 several times the median', () => {
    const b = new LatencyBucket(new MemoryBucket(), { seed: 7 })
    const quantiles = (kind: LatencyOpKind) => {
      const xs = Array.from({ length: 20_000 }, () => b.draw(kind).ms).sort((x, y) => x - y)
      return { p50: xs[10_000]!, p99: xs[19_800]! }
    }
    const get = quantiles('get')
    const put = quantiles('put')
    expect(get.p50).toBeGreaterThan(10)
    expect(get.p50).toBeLessThan(100)
    expect(put.p50).toBeGreaterThan(get.p50)
    for (const kind of KINDS) {
      const spec = R2_LATENCY[kind] as { medianMs: number; p99Ms: number }
      const q = quantiles(kind)
      expect(q.p50 / spec.medianMs).toBeGreaterThan(0.9)
      expect(q.p50 / spec.medianMs).toBeLessThan(1.1)
      expect(q.p99 / spec.p99Ms).toBeGreaterThan(0.8)
      expect(q.p99 / spec.p99Ms).toBeLessThan(1.25)
      expect(q.p99).toBeGreaterThan(3 * q.p50)
    }
  })

  it('takes overrides per kind: a fixed ms, a jitter, a median and p99, and a scale', () => {
    const b = new LatencyBucket(new MemoryBucket(), {
      latency: { get: { ms: 20 }, put: { ms: 20, jitterMs: 5 }, list: { medianMs: 10, p99Ms: 10 } }, scale: 0.5,
    })
    expect(b.draw('get').ms).toBe(10)
    const puts = Array.from({ length: 200 }, () => b.draw('put').ms)
    expect(Math.min(...puts)).toBeGreaterThanOrEqual(7.5)
    expect(Math.max(...puts)).toBeLessThanOrEqual(12.5)
    expect(new Set(puts).size).toBeGreaterThan(100)
    expect(b.draw('list').ms).toBeCloseTo(5, 9)
    expect(b.draw('head').ms).toBeGreaterThan(0) // a kind not overridden keeps R2's default
    expect(new LatencyBucket(new MemoryBucket(), { scale: 0 }).draw('put').ms).toBe(0)
    expect(() => new LatencyBucket(new MemoryBucket(), { latency: { get: { ms: -1 } } })).toThrow(RangeError)
    expect(() => new LatencyBucket(new MemoryBucket(), { latency: { get: { medianMs: 10, p99Ms: 5 } } })).toThrow(/p99Ms/)
    expect(() => new LatencyBucket(new MemoryBucket(), { scale: -1 })).toThrow(/scale/)
  })

  it('counts requests per kind (a many-key delete is one request)', async () => {
    const b = new LatencyBucket(new MemoryBucket(), { latency: fixed(1) })
    await b.put('a', '1')
    await b.put('b', '2')
    await b.get('a')
    await b.get('nope')
    await b.get('a', { range: { offset: 0, length: 1 } })
    await b.head('b')
    await b.list({ prefix: '' })
    await b.delete(['a', 'b', 'c'])
    await b.delete('d')
    expect(b.ops).toEqual({ get: 3, head: 1, put: 2, list: 1, delete: 2, deletedKeys: 4 })
    expect(b.totalLatencyMs).toBe(9)
    b.resetCounts()
    expect(b.ops).toEqual({ get: 0, head: 0, put: 0, list: 0, delete: 0, deletedKeys: 0 })
    expect(b.maxInFlight).toBe(0)
  })

  it('max in flight is 1 for requests one after another', async () => {
    const b = new LatencyBucket(new MemoryBucket(), { seed: 5, scale: 0.02, connections: 1 })
    for (let i = 0; i < 20; i++) await b.put(`k/${i}`, String(i))
    for (let i = 0; i < 20; i++) await b.get(`k/${i}`)
    await b.list({ prefix: 'k/' })
    expect(b.maxInFlight).toBe(1)
    expect(b.queued).toBe(0) // one connection is enough for requests one after another
    expect(b.inFlight).toBe(0)
  })

  it('max in flight is N for N concurrent requests, and in flight counts down to 0', async () => {
    const inner = new MemoryBucket()
    for (let i = 0; i < 16; i++) await inner.put(`k/${i}`, String(i))
    const b = new LatencyBucket(inner, { seed: 5, latency: fixed(1) })
    const all = Promise.all(Array.from({ length: 16 }, (_, i) => b.get(`k/${i}`)))
    expect(b.inFlight).toBe(16)
    await all
    expect(b.maxInFlight).toBe(16)
    expect(b.inFlight).toBe(0)
    // Mixed kinds count together.
    b.resetCounts()
    await Promise.all([b.head('k/1'), b.put('x', 'y'), b.list(), b.delete('k/2'), b.get('k/3')])
    expect(b.maxInFlight).toBe(5)
    await b.idle()
  })

  it('connections: at most that many requests wait for an answer, the rest queue (a Worker allows 6)', async () => {
    const inner = new MemoryBucket()
    for (let i = 0; i < 20; i++) await inner.put(`k/${i}`, String(i))
    const b = new LatencyBucket(inner, { seed: 8, latency: { get: { medianMs: 1, p99Ms: 3 } }, connections: WORKER_CONNECTIONS })
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => b.get(`k/${i}`)))
    expect(b.inFlight).toBe(20)
    expect(b.queued).toBe(14)
    const bodies = await all
    expect(await Promise.all(bodies.map(x => x!.text()))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
    expect(b.maxInFlight).toBe(20) // issued together: the engine's concurrency
    expect(b.maxConnected).toBe(6) // what the runtime lets through
    expect(b.queued).toBe(0)
    expect(new LatencyBucket(inner, { latency: fixed(1) }).maxConnected).toBe(0)
    expect(() => new LatencyBucket(inner, { connections: 0 })).toThrow(/connections/)
  })

  it('results pass through unchanged: the inner bucket\'s objects, nulls and errors', async () => {
    const inner = new MemoryBucket()
    await inner.put('k', 'v')
    const sentinel = { key: 'k', size: 1, etag: 'e', uploaded: new Date(0) }
    const failing = new Error('inner failure')
    const spy: Bucket = {
      get: async () => ({ ...sentinel, arrayBuffer: async () => new ArrayBuffer(1), text: async () => 'v' }),
      head: async () => sentinel,
      put: async () => null,
      list: async () => ({ objects: [sentinel], delimitedPrefixes: ['p/'], truncated: true, cursor: 'c' }),
      delete: async () => { throw failing },
    }
    const b = new LatencyBucket(spy, { seed: 9, scale: 0.01, record: true })
    expect(await b.head('k')).toBe(sentinel)
    expect(await b.put('k', 'w')).toBeNull()
    expect(await b.list()).toEqual({ objects: [sentinel], delimitedPrefixes: ['p/'], truncated: true, cursor: 'c' })
    expect(await (await b.get('k'))!.text()).toBe('v')
    await expect(b.delete('k')).rejects.toBe(failing)
    expect(b.inFlight).toBe(0)
    expect(b.log.map(e => [e.kind, e.ok])).toEqual([['head', true], ['put', true], ['list', true], ['get', true], ['delete', false]])
  })

  it('completes concurrent requests out of order under random latency (and in order when asked)', async () => {
    const inner = new MemoryBucket()
    for (let i = 0; i < 30; i++) await inner.put(`k/${String(i).padStart(2, '0')}`, String(i))
    const keys = Array.from({ length: 30 }, (_, i) => `k/${String(i).padStart(2, '0')}`)

    const random = new LatencyBucket(inner, { seed: 11, latency: { get: { medianMs: 2, p99Ms: 20 } }, record: true })
    const completed: number[] = []
    const bodies = await Promise.all(keys.map(async (k, i) => {
      const body = await random.get(k)
      completed.push(i)
      return body!.text()
    }))
    expect(await Promise.all(bodies)).toEqual(keys.map((_, i) => String(i)))
    expect(completed).not.toEqual([...completed].sort((x, y) => x - y))
    expect(random.log.map(e => e.seq)).not.toEqual(random.log.map(e => e.seq).sort((x, y) => x - y))
    expect(random.maxInFlight).toBe(30)

    const ordered = new LatencyBucket(inner, { seed: 11, latency: { get: { medianMs: 2, p99Ms: 20 } }, reorder: false })
    const inOrder: number[] = []
    await Promise.all(keys.map(async (k, i) => { await ordered.get(k); inOrder.push(i) }))
    expect(inOrder).toEqual(keys.map((_, i) => i))
    expect(ordered.maxInFlight).toBe(30) // still concurrent, only completion is ordered
  })

  it('a put takes effect after the call and is visible once it resolves, never before the call', async () => {
    const inner = new MemoryBucket()
    const b = new LatencyBucket(inner, { seed: 2, latency: { put: { medianMs: 2, p99Ms: 10 }, get: { ms: 1 } } })
    for (let round = 0; round < 20; round++) {
      const key = `p/${round}`
      const pending = b.put(key, 'v')
      // Same tick as the call: nothing has reached the inner bucket yet.
      expect(await inner.head(key)).toBeNull()
      await pending
      // Resolved: the inner bucket holds it, and so does any request issued from now on.
      expect(await inner.head(key)).not.toBeNull()
      expect(await (await b.get(key))!.text()).toBe('v')
    }
  })

  it('the inner operation runs after the call and before the promise settles, at a varying point', async () => {
    const inner = new MemoryBucket()
    const events: string[] = []
    const spy: Bucket = { ...bind(inner), put: async (k, v, o) => { events.push(`inner ${k}`); return inner.put(k, v, o) } }
    const b = new LatencyBucket(spy, { seed: 6, latency: { put: { medianMs: 2, p99Ms: 10 } } })
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const p = b.put(`v/${i}`, 'x')
      events.push(`called ${i}`)
      await p
      events.push(`resolved ${i}`)
    }))
    for (let i = 0; i < 10; i++) {
      const called = events.indexOf(`called ${i}`)
      const ran = events.indexOf(`inner v/${i}`)
      const resolved = events.indexOf(`resolved ${i}`)
      expect(called).toBeLessThan(ran)
      expect(ran).toBeLessThan(resolved)
    }
    // Where in the latency the effect lands is drawn too (the way there vs the way back).
    const at = Array.from({ length: 100 }, () => b.draw('put').effectAt)
    expect(Math.min(...at)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...at)).toBeLessThan(1)
    expect(Math.min(...at)).toBeLessThan(0.1)
    expect(Math.max(...at)).toBeGreaterThan(0.9)
  })

  it('leaves no timer running once requests settle', async () => {
    const timers = () => (process as unknown as { getActiveResourcesInfo(): string[] })
      .getActiveResourcesInfo().filter(r => r === 'Timeout').length
    const before = timers()
    const b = new LatencyBucket(new MemoryBucket(), { seed: 1, latency: fixed(20) })
    const pending = Promise.all([b.put('a', '1'), b.put('b', '2'), b.list()])
    expect(b.inFlight).toBe(3)
    await new Promise(resolve => setImmediate(resolve))
    expect(timers()).toBeGreaterThan(before)
    await b.idle()
    expect(b.inFlight).toBe(0)
    await pending
    expect(timers()).toBe(before)
  })
})

function fixed(ms: number) {
  return Object.fromEntries(KINDS.map(k => [k, { ms }])) as Record<LatencyOpKind, { ms: number }>
}

function bind(b: Bucket): Bucket {
  return { get: b.get.bind(b), head: b.head.bind(b), put: b.put.bind(b), list: b.list.bind(b), delete: b.delete.bind(b) }
}
