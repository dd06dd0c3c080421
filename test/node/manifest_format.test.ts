import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import {
  type DataFile, type Manifest, ManifestError, commitManifest, emptyManifest, loadManifest,
} from '../../src/manifest/index.js'
import { DB, MemoryBucket } from '../../src/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../../src/tail/index.js'

// A manifest as the engine stored it before the compact encoding (format 1): see test/fixtures/README.md.
const FIXTURE = 'test/fixtures/manifest-format-1.json'
const KEY = '_manifest.json'
const text = async (b: MemoryBucket) => (await b.get(KEY))!.text()

async function storeWith(body: string) {
  const bucket = new MemoryBucket()
  await bucket.put(KEY, body)
  return bucket
}

describe('manifest formats: commits write format 2; formats 1 and 2 read into the same model', () => {
  it('a format-1 manifest reads as it was written, and a commit rewrites it as format 2, its files in under 0.6 of the bytes', async () => {
    const old = await readFile(FIXTURE, 'utf8')
    const bucket = await storeWith(old)
    const loaded = await loadManifest(bucket, '', 0)
    expect(loaded.manifest).toEqual(JSON.parse(old))
    const before = structuredClone(loaded.manifest)
    expect(await commitManifest(bucket, '', loaded, loaded.manifest)).not.toBeNull()
    const stored = await text(bucket)
    expect((JSON.parse(stored) as { format: number }).format).toBe(2)
    // The data files' records are what grows with a store; view definitions and garbage keys stay as they are.
    const part = (json: string) => JSON.stringify((JSON.parse(json) as Manifest).collections).length
    expect(part(stored)).toBeLessThan(part(old) * 0.6)
    expect(stored.length).toBeLessThan(old.length * 0.7)
    const again = (await loadManifest(bucket, '', 0)).manifest
    expect(again).toEqual({ ...before, version: before.version + 1 })
  })

  it('a store whose manifest is format 1 keeps working: find, then a pass commits format 2', async () => {
    const old = await readFile(FIXTURE, 'utf8')
    const m = JSON.parse(old) as Manifest
    const bucket = await storeWith(old)
    // The fixture's data files are not in this bucket: the pass may not touch them (nothing is
    // due), and the new rows go to their own files.
    const now = m.updatedAt + 60_000
    const db = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }, { storage: bucket, now: () => now })
    const t = Date.parse('2026-11-30T13:00:00Z')
    await db.TailEvents.bulkCreate([{ scriptName: 'x', outcome: 'ok', eventTimestamp: t, event: null }])
    await db.compact({ holdWalMs: 0 })
    const stored = JSON.parse(await text(bucket)) as { format: number }
    expect(stored.format).toBe(2)
    const after = (await loadManifest(bucket, '', now)).manifest
    const keys = (x: Manifest) => x.collections.TailEvents!.files.map(f => f.key)
    expect(keys(after)).toEqual(expect.arrayContaining(keys(m)))
    expect(after.collections.TailEvents!.files.length).toBe(m.collections.TailEvents!.files.length + 1)
    expect(after.views).toEqual(m.views)
  })

  it('round-trips what a row does not hold by shape: pending deltas, misfits 0, promotion digests, quarantined segments, odd keys', async () => {
    const m = emptyManifest(5)
    const file = (key: string, extra: Partial<DataFile> = {}): DataFile => ({
      key, partition: 'dt=2024-01-15/hour=09', level: 0, rows: 3, bytes: 100, minTime: 1, maxTime: 2, createdAt: 7,
      stats: {
        a: { min: 'x', max: 'y', nulls: 0 }, b: { min: null, max: null, nulls: 3 },
        c: { min: 1, max: 2, nulls: 1, misfits: 0 }, d: { min: 1, max: 9, nulls: 0, misfits: 2 },
      },
      ...extra,
    })
    m.collections.E = {
      files: [
        file('data/E/dt=2024-01-15/hour=09/000000000000007-L0-abc.parquet', { promoted: 'usual' }),
        file('data/E/dt=2024-01-15/hour=09/000000000000008-L0-abe.parquet', { promoted: 'usual' }),
        file('data/E/dt=2024-01-15/hour=09/000000000000009-L1-abd.parquet', { level: 1, pending: true, stats: {} }),
        file('data/E/dt=2024-01-15/hour=09/000000000000010-L1-abf.parquet', { promoted: 'other', pending: true }),
        file('elsewhere/file.parquet', { partition: 'dt=2024-01-15/hour=10', createdAt: 99 }),
        { ...file('data/E/x.parquet'), future: 'a field this version does not know' } as DataFile,
      ],
      consumed: [
        { key: 'wal/E/1.ndjson', at: 3 }, { key: 'wal/E/2.ndjson', at: 4, quarantined: 'too large' },
      ],
      expiredBefore: 11,
    }
    m.collections.Empty = { files: [], consumed: [] }
    m.garbage = [{ key: 'data/E/old.parquet', since: 2 }, { key: 'wal/E/0.ndjson', since: 2, version: 4 }]
    m.views = { V: { lastRefresh: null, definition: '{}' } }
    m.sweep = { E: 'data/E/x' }
    const bucket = new MemoryBucket()
    const loaded = await loadManifest(bucket, '', 5)
    await commitManifest(bucket, '', loaded, structuredClone(m))
    expect((await loadManifest(bucket, '', 5)).manifest).toEqual({ ...m, version: 1 })
  })

  it('an unknown format or a malformed format-2 manifest is a ManifestError that says what to do', async () => {
    const newer = await storeWith(JSON.stringify({ format: 3, version: 1 }))
    await expect(loadManifest(newer, '', 0)).rejects.toThrow(ManifestError)
    await expect(loadManifest(newer, '', 0)).rejects.toThrow(/has format 3; this version of parquedb reads formats 1 and 2: upgrade/)
    const broken = await storeWith(JSON.stringify({ format: 2, version: 1, collections: { E: { files: 7 } }, garbage: [] }))
    await expect(loadManifest(broken, '', 0)).rejects.toThrow(/_manifest.json is not a valid format-2 manifest/)
  })
})
