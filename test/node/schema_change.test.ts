import { parquetMetadataAsync } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { commitManifest, loadManifest } from '../../src/manifest/index.js'
import { type FindContext, collectionTarget, runSql } from '../../src/query/index.js'
import { PROMOTED_KEY, compileCollection } from '../../src/schema/index.js'
import { MemoryBucket, listAll } from '../../src/storage/index.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const HOUR = 3_600_000

describe('one row-normalization path: a WAL row reads the same before and after compaction', () => {
  it('after a field changes type (int → string), old rows are out of reads before compaction and after, and kept in quarantine', async () => {
    const bucket = new MemoryBucket()
    const v1 = DB({ Events: { at: 'timestamp!', code: 'int?', note: 'string?' } }, { storage: bucket, now: () => T0 })
    await v1.Events.bulkCreate([{ at: T0 + 1, code: 7, note: 'old' }, { at: T0 + 2, note: 'no code' }])
    let now = T0 + 1_000
    const v2 = DB({ Events: { at: 'timestamp!', code: 'string?', note: 'string?' } }, { storage: bucket, now: () => now })
    await v2.Events.bulkCreate([{ at: T0 + 3, code: 'E7', note: 'new' }])

    const notes = async () => (await v2.Events.find({}, { sort: { at: 1 } })).map(r => [r.note, r.code])
    const before = await notes()
    expect(before).toEqual([['no code', null], ['new', 'E7']])
    const q = v2.Events.find()
    await q
    expect(q.stats!.walLinesSkipped).toBe(1)

    now += 2 * HOUR
    await v2.compact()
    expect(await notes()).toEqual(before)
    const quarantined: string[] = []
    for await (const o of listAll(bucket, 'quarantine/Events/')) quarantined.push(await (await bucket.get(o.key))!.text())
    expect(quarantined.join('')).toMatch(/"note":"old"/)
    expect(quarantined.join('')).toMatch(/code: expected a string, got the number 7/)
  })
})

describe('a promoted value is read back by the promotions its file recorded, not the current schema', () => {
  const base = { at: 'timestamp!', event: 'variant?' } as const
  const schemas = {
    original: { ...base, $promote: { url: { path: 'event.request.url', type: 'string' } } },
    removed: { ...base },
    renamed: { ...base, $promote: { link: { path: 'event.request.url', type: 'string' } } },
    repointed: { ...base, $promote: { url: { path: 'event.other', type: 'string' } } },
    retyped: { ...base, $promote: { url: { path: 'event.request.url', type: 'int' } } },
  } as const
  const events = [
    { at: T0 + 1, event: { request: { url: 'https://a.example/1', method: 'GET' }, other: 'x1' } },
    { at: T0 + 2, event: { request: { url: 'https://a.example/2' }, other: 'x2' } },
    { at: T0 + 3, event: { request: { method: 'POST' } } },
  ]
  const open = (bucket: MemoryBucket, schema: keyof typeof schemas, now: number) =>
    DB({ Events: schemas[schema] }, { storage: bucket, now: () => now })
  const all = async (db: ReturnType<typeof open>) => db.Events.find({}, { sort: { at: 1 } })

  for (const changed of ['removed', 'renamed', 'repointed', 'retyped'] as const) {
    it(`${changed}: find() returns the events intact, before and after a recompact under the new schema`, async () => {
      const bucket = new MemoryBucket()
      const now = T0 + 3 * HOUR
      const v1 = open(bucket, 'original', now)
      await v1.Events.bulkCreate(events)
      await v1.compact()
      const files = (await loadManifest(bucket, '', 0)).manifest.collections.Events!.files
      expect(files.length).toBe(1)
      const kv = (await parquetMetadataAsync(await (await bucket.get(files[0]!.key))!.arrayBuffer())).key_value_metadata
      expect(JSON.parse(kv!.find(e => e.key === PROMOTED_KEY)!.value!))
        .toEqual([{ name: 'url', path: ['event', 'request', 'url'], type: 'string' }])
      const before = await all(v1)
      expect(before.map(r => r.event)).toEqual(events.map(e => e.event))

      const v2 = open(bucket, changed, now)
      expect(await all(v2), 'read under the new schema').toEqual(before)
      const rc = await v2.recompact()
      expect(rc.pass.partitionsRecompacted).toBe(1)
      expect(await all(v2), 'recompacted, read under the new schema').toEqual(before)
      expect(await all(open(bucket, 'original', now)), 'recompacted, read under the old schema').toEqual(before)
    })
  }

  it('SQL over old files after a promotion is added, re-pointed or retyped: the columnar path answers as the row path', async () => {
    const bucket = new MemoryBucket()
    const now = T0 + 3 * HOUR
    const plain = open(bucket, 'removed', now)
    await plain.Events.bulkCreate(events.slice(0, 2))
    await plain.compact() // a file with no url column
    const v1 = open(bucket, 'original', now)
    await v1.Events.bulkCreate([{ at: T0 + HOUR + 1, event: { request: { url: 'https://b.example/' }, other: 7 } }])
    await v1.compact() // a file whose url is event.request.url
    const ctx: FindContext = { bucket: async () => bucket, prefix: '', now: () => now, graceMs: 600_000, concurrency: 2 }
    const count = async (schema: keyof typeof schemas, columnar: boolean, column = 'url') => {
      const tables = { Events: collectionTarget(compileCollection('Events', schemas[schema])) }
      const text = `SELECT COUNT(${column}) AS n, MIN(${column}) AS lo FROM Events`
      const r = await runSql({ text, params: [] }, tables, ctx, undefined, { columnar })
      expect(r.scans.map(s => s.path)).toEqual([columnar ? 'columnar' : 'rows'])
      return r.rows
    }
    expect(await count('original', false)).toEqual([{ n: 3, lo: 'https://a.example/1' }])
    expect(await count('original', true)).toEqual(await count('original', false))
    expect(await count('repointed', false)).toEqual([{ n: 2, lo: 'x1' }])
    expect(await count('repointed', true)).toEqual(await count('repointed', false))
    // Renamed: the file that promoted url puts it back into the VARIANT, and link is taken from there.
    expect(await count('renamed', false, 'link')).toEqual([{ n: 3, lo: 'https://a.example/1' }])
    expect(await count('renamed', true, 'link')).toEqual(await count('renamed', false, 'link'))
    expect(await count('retyped', false)).toEqual([{ n: 0, lo: null }])
    expect(await count('retyped', true)).toEqual(await count('retyped', false))
  })

  it('a filter on a re-pointed or retyped promotion never prunes old files by the old column\'s statistics', async () => {
    const bucket = new MemoryBucket()
    const now = T0 + 3 * HOUR
    const v1 = open(bucket, 'original', now)
    await v1.Events.bulkCreate(events)
    await v1.compact({ rowGroupRows: 1 })
    // The file's url statistics (manifest and row groups) describe event.request.url: https://a…/1..2.
    const ctx: FindContext = { bucket: async () => bucket, prefix: '', now: () => now, graceMs: 600_000, concurrency: 2 }
    const sql = async (schema: keyof typeof schemas, text: string, columnar: boolean) => {
      const tables = { Events: collectionTarget(compileCollection('Events', schemas[schema])) }
      return (await runSql({ text, params: [] }, tables, ctx, undefined, { columnar })).rows
    }
    // Under the schema it was written with, the file is pruned by its url statistics.
    const q = v1.Events.find({ 'event.request.url': 'x2' })
    expect(await q).toEqual([])
    expect(q.stats).toMatchObject({ filesConsidered: 1, filesRead: 0 })
    // A file recorded before the digest existed is read, and its row groups still pruned by its own record.
    const loaded = await loadManifest(bucket, '', now)
    const undigested = structuredClone(loaded.manifest)
    for (const f of undigested.collections.Events!.files) delete f.promoted
    await commitManifest(bucket, '', loaded, undigested)
    const old = v1.Events.find({ 'event.request.url': 'https://a.example/2' })
    expect((await old).map(r => r.at)).toEqual([new Date(T0 + 2)])
    expect(old.stats).toMatchObject({ filesRead: 1, rowGroupsConsidered: 3, rowGroupsRead: 1 })
    // Re-pointed to event.other: 'x2' lies outside the old column's range, yet one row holds it.
    const repointed = open(bucket, 'repointed', now)
    expect((await repointed.Events.find({ 'event.other': 'x2' })).map(r => r.at)).toEqual([new Date(T0 + 2)])
    for (const columnar of [true, false]) {
      expect(await sql('repointed', `SELECT COUNT(*) AS n FROM Events WHERE url = 'x2'`, columnar)).toEqual([{ n: 1 }])
    }
    // Retyped to int: the old string statistics say nothing about the numbers the path may hold.
    const retyped = open(bucket, 'retyped', now)
    await retyped.Events.bulkCreate([{ at: T0 + 4, event: { request: { url: 5 } } }])
    await retyped.compact({ rowGroupRows: 1 })
    expect((await retyped.Events.find({ 'event.request.url': { $gte: 5 } })).map(r => r.at)).toEqual([new Date(T0 + 4)])
  })
})
