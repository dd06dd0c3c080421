import { readFile, readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DB, MemoryBucket } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { LAYOUT_KEY, PARQUET_LAYOUT, ParquetLayoutError, compileCollection } from '../../src/schema/index.js'
import { readFileRowGroups } from '../../src/query/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { downloadObjects, duck, fileList } from '../helpers/duckdb.js'

// A store written by the build before Parquet layouts had versions (layout 1: every promoted value
// also inside its VARIANT), kept as files: see test/fixtures/README.md.
const FIXTURE = 'test/fixtures/layout-1'

async function fixtureBucket(): Promise<{ bucket: MemoryBucket; now: number; rows: unknown[] }> {
  const bucket = new MemoryBucket()
  const root = join(FIXTURE, 'bucket')
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    await bucket.put(relative(root, path).split(sep).join('/'), new Uint8Array(await readFile(path)))
  }
  const { now } = JSON.parse(await readFile(join(FIXTURE, 'clock.json'), 'utf8')) as { now: number }
  const rows = JSON.parse(await readFile(join(FIXTURE, 'rows.json'), 'utf8')) as unknown[]
  return { bucket, now, rows }
}

const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown
const bytesOf = async (bucket: MemoryBucket, key: string) => (await (await bucket.get(key))!.arrayBuffer())

describe('Parquet layout 1 (the fixture store) stays readable and recompacts into the current layout', () => {
  it('reads every row of the old store as it did when it was written', async () => {
    const { bucket, now, rows } = await fixtureBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    expect(asJson(await db.TailEvents.find({}, { sort: { eventTimestamp: 1 } }))).toEqual(rows)
    // Nested filters still prune and match on old files (their promoted columns are full copies).
    const viaColumn = await db.TailEvents.find({ 'event.request.url': 'https://a.example/1' })
    expect(viaColumn.map(r => r.scriptName)).toEqual(['edge'])
  })

  it('recompact rewrites every file in the current layout; rows, filters and DuckDB all agree', async () => {
    const { bucket, now, rows } = await fixtureBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    const before = (await loadManifest(bucket, '', now)).manifest.collections.TailEvents!.files
    await db.recompact()
    const files = (await loadManifest(bucket, '', now)).manifest.collections.TailEvents!.files
    expect(files.length).toBeGreaterThan(0)
    expect(files.some(f => before.some(b => b.key === f.key))).toBe(false)
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(rows.length)
    for (const f of files) {
      const kv = parquetMetadata(await bytesOf(bucket, f.key)).key_value_metadata
      expect(kv?.find(e => e.key === LAYOUT_KEY)?.value).toBe(String(PARQUET_LAYOUT))
    }
    // Every row reads back as the old store returned it, byte for byte once serialized (key order too),
    // but for the one that was in the WAL then: Parquet's VARIANT keeps an object's keys sorted.
    const after = await db.TailEvents.find({}, { sort: { eventTimestamp: 1 } })
    expect(asJson(after)).toEqual(rows)
    expect(JSON.stringify(after.slice(0, -1))).toBe(JSON.stringify(rows.slice(0, -1)))
    expect((await db.TailEvents.find({ 'event.request.url': 'https://a.example/1' })).length).toBe(1)
    // A projection of the variant alone still gets its promoted values back.
    const projected = await db.TailEvents.find({}, { sort: { eventTimestamp: 1 }, project: { event: 1 } })
    expect(asJson(projected.map(r => r.event))).toEqual(rows.map(r => (r as { event: unknown }).event))

    // Each value is stored once: inside the variant its place is null, the column holds it.
    const raw = await parquetReadObjects({ file: await bytesOf(bucket, files[0]!.key), columns: ['event', 'url'] })
    const withUrl = raw.filter(r => r.url !== null)
    expect(withUrl.length).toBeGreaterThan(0)
    for (const r of withUrl) expect((r.event as { request: { url: unknown } }).request.url).toBeNull()

    // DuckDB reads the new files: the column holds the value, the variant the rest of the event.
    const paths = await downloadObjects(bucket, files.map(f => f.key))
    const seen = await duck(`SELECT epoch_ms(eventTimestamp) AS ts, url, status, exceptionName,
      event::JSON::VARCHAR AS event FROM read_parquet(${fileList(paths)}) ORDER BY ts`)
    const want = rows as { eventTimestamp: string; event: Record<string, Record<string, unknown>> | null }[]
    expect(seen.map(r => Number(r.ts))).toEqual(want.map(r => Date.parse(r.eventTimestamp)))
    for (const [i, r] of seen.entries()) {
      const url = want[i]!.event?.request?.url
      expect(r.url).toBe(typeof url === 'string' ? url : null)
      const event = JSON.parse(r.event as string) as { request?: { url?: unknown } } | null
      if (typeof url === 'string') expect(event?.request?.url).toBeNull()
    }
  })

  it('a file of a layout this build does not read is an error naming the layout, never a guess', async () => {
    const { bucket, now } = await fixtureBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => now })
    await db.recompact()
    const file = (await loadManifest(bucket, '', now)).manifest.collections.TailEvents!.files[0]!
    const bytes = new Uint8Array(await bytesOf(bucket, file.key))
    // Rewrite the footer's layout entry from "2" to "9" (same length, so offsets hold).
    const text = new TextDecoder('latin1').decode(bytes)
    const at = text.lastIndexOf(LAYOUT_KEY)
    expect(at).toBeGreaterThan(0)
    const value = text.indexOf(String(PARQUET_LAYOUT), at + LAYOUT_KEY.length)
    bytes[value] = '9'.charCodeAt(0)
    await bucket.put(file.key, bytes)
    const schema = compileCollection('TailEvents', TailEvents as unknown as Record<string, unknown>)
    const read = async () => { for await (const _ of readFileRowGroups(bucket, schema, file)) { /* drain */ } }
    await expect(read()).rejects.toThrow(ParquetLayoutError)
    await expect(read()).rejects.toThrow(/layout "9" is not one this build reads \(1, 2\)/)
  })
})
