import { describe, expect, it } from 'vitest'
import { mapLimit, mapWeighted } from '../../src/storage/index.js'

/** Calls that finish after `ms`, recording how many (and how much weight) run at once. */
function tracker() {
  const t = { running: 0, load: 0, maxRunning: 0, maxLoad: 0, started: [] as number[] }
  const call = (weight: number, ms: number, i: number, fail = false) => {
    t.started.push(i)
    t.running++
    t.load += weight
    t.maxRunning = Math.max(t.maxRunning, t.running)
    t.maxLoad = Math.max(t.maxLoad, t.load)
    return new Promise<number>((resolve, reject) => setTimeout(() => {
      t.running--
      t.load -= weight
      if (fail) reject(new Error(`call ${i} failed`))
      else resolve(i * 10)
    }, ms))
  }
  return { t, call }
}

describe('bounded concurrency helpers', () => {
  it('mapWeighted keeps the calls in flight within both the count and the weight, in input order', async () => {
    const weights = [3, 3, 3, 3, 3, 8, 1, 1, 1, 1, 16, 2, 2]
    const { t, call } = tracker()
    const out = await mapWeighted(weights, 4, 8, w => w, (w, i) => call(w, 5 + (i % 3) * 3, i))
    expect(out).toEqual(weights.map((_, i) => i * 10))
    expect(t.started).toEqual(weights.map((_, i) => i))
    expect(t.maxRunning).toBe(4) // the four weights of 1 together
    // The 16 is heavier than the capacity: it ran, alone; everything else stayed within 8.
    expect(t.maxLoad).toBe(16)
    const light = tracker()
    await mapWeighted(weights.filter(w => w <= 8), 4, 8, w => w, (w, i) => light.call(w, 5, i))
    expect(light.t.maxLoad).toBeLessThanOrEqual(8)
    expect(light.t.maxLoad).toBeGreaterThan(3) // not one at a time
  })

  it('mapWeighted stops starting calls at the first failure and throws it once the others settled', async () => {
    const { t, call } = tracker()
    const run = mapWeighted([1, 1, 1, 1, 1, 1], 2, 10, w => w, (w, i) => call(w, 5, i, i === 1))
    await expect(run).rejects.toThrow('call 1 failed')
    expect(t.running).toBe(0)
    expect(t.started.length).toBeLessThan(6)
    expect(await mapWeighted([], 2, 10, () => 1, async () => 1)).toEqual([])
    // A call that throws before returning a promise fails the same way, after the others settle.
    const sync = tracker()
    const throwing = mapLimit([1, 2, 3], 2, (w, i) => {
      if (i === 1) throw new Error('thrown at once')
      return sync.call(w, 5, i)
    })
    await expect(throwing).rejects.toThrow('thrown at once')
    expect(sync.t.running).toBe(0)
  })

  it('mapLimit keeps at most `limit` calls in flight', async () => {
    const { t, call } = tracker()
    expect(await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, (w, i) => call(w, 4, i))).toEqual([0, 10, 20, 30, 40, 50, 60])
    expect(t.maxRunning).toBe(3)
  })
})
