import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_COMPACTION, type PassContext } from '../src/compactor/index.js'
import { icebergTables } from '../src/iceberg/index.js'
import { type DataFile, type Manifest, applyEdit, emptyManifest } from '../src/manifest/index.js'
import { compileCollection, statColumns } from '../src/schema/index.js'
import { CountingBucket, LatencyBucket, MemoryBucket, PARTITION_MS, dataFileKey, partitionOf } from '../src/storage/index.js'
import { TailEvents } from '../src/tail/index.js'

/**
 * The cost of publishing an Iceberg snapshot, by the number of live files: the publish step writes one
 * manifest listing every live file (and reads the previous one), so it grows with the table. Files
 * are synthetic manifest entries (publishing never opens a data file). There is no DuckDB
 * counterpart to publishing; the numbers are absolute, on a loaded shared machine.
 */
const T0 = Date.parse('2024-01-15T00:00:00Z')
const schema = compileCollection('TailEvents', TailEvents as unknown as Record<string, unknown>)
const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString() }

function files(n: number): DataFile[] {
  const stats = Object.fromEntries(statColumns(schema).map(c => [c.name, c.kind === 'string'
    ? { min: 'https://api.example.com/a', max: 'https://api.example.com/z', nulls: 3 }
    : { min: T0, max: T0 + PARTITION_MS - 1, nulls: 0 }]))
  return Array.from({ length: n }, (_, i) => {
    const start = T0 + Math.floor(i / 2) * PARTITION_MS
    const partition = partitionOf(start)
    return {
      key: dataFileKey({ prefix: '', collection: 'TailEvents', partition, level: 1, createdAt: start }), partition,
      level: 1, rows: 5_000, bytes: 250_000, minTime: start, maxTime: start + PARTITION_MS - 1, createdAt: start, stats,
    }
  })
}

async function publish(bucket: CountingBucket | LatencyBucket, m: Manifest, now: number) {
  const publisher = icebergTables({ location: 's3://parquedb-data' })
  const ctx: PassContext = {
    bucket, prefix: '', collections: [schema], views: [], retention: {}, now: () => now,
    options: DEFAULT_COMPACTION, deadline: Infinity,
  }
  const out = await publisher.build(ctx, { manifest: m, etag: null })
  return applyEdit(m, out!.edit, now)
}

describe('Iceberg publishing cost by table size', () => {
  for (const n of [200, 1_500, 15_000]) {
    it(`${n} live files: first snapshot, then one after a merge replaced 4 of them`, async () => {
      const memory = new MemoryBucket()
      let m = emptyManifest(T0)
      m.collections.TailEvents = { files: files(n), consumed: [] }
      const counting = new CountingBucket(memory)
      let t = performance.now()
      m = await publish(counting, m, T0 + 1)
      const first = { ms: performance.now() - t, ...counting.ops }
      const merged = m.collections.TailEvents!.files.slice(0, 4)
      m = applyEdit(m, { collections: { TailEvents: { removed: merged.map(f => f.key), added: files(1) } } }, T0 + 2)
      // min of 3 runs of the second snapshot, each from the same state
      const runs: number[] = []
      let next = m
      let ops = counting.ops
      for (let r = 0; r < 3; r++) {
        const c = new CountingBucket(memory)
        t = performance.now()
        next = await publish(c, m, T0 + 3)
        runs.push(performance.now() - t)
        ops = c.ops
      }
      // The same second publish over R2-like latency (one GET of the previous manifest, two PUTs).
      const slow = new LatencyBucket(memory)
      t = performance.now()
      await publish(slow, m, T0 + 3)
      const withLatency = performance.now() - t
      const snap = next.tables!.TailEvents!.snapshots.at(-1)!
      const manifestBytes = (await memory.head(snap.manifests[0]!))!.size
      expect(snap.summary['total-data-files']).toBe(String(n - 3))
      results[`files_${n}`] = {
        first: { ms: Math.round(first.ms), puts: first.put, gets: first.get, bytesWritten: first.bytesWritten },
        next: {
          msMin: Math.round(Math.min(...runs)), msMedian: Math.round(runs.sort((a, b) => a - b)[1]!),
          msWithR2Latency: Math.round(withLatency), gets: ops.get, puts: ops.put, manifestBytes,
          bytesPerFile: Math.round(manifestBytes / (n - 3)),
        },
        manifestJsonBytes: JSON.stringify(next).length,
      }
    })
  }

  it('records the results', async () => {
    const dir = join(import.meta.dirname, 'results')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'iceberg.json'), `${JSON.stringify(results, null, 2)}\n`)
    console.log(JSON.stringify(results, null, 2))
  })
})
