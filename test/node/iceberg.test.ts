import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { icebergTables } from '../../src/iceberg/index.js'
import { heldBySnapshot, loadManifest } from '../../src/manifest/index.js'
import { compileCollection } from '../../src/schema/index.js'
import { type Bucket, MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, WorkerErrors } from '../../src/tail/index.js'
import { avscReadFile } from '../helpers/avsc_read.js'
import { fakeRestCatalog } from '../helpers/fake_rest_catalog.js'
import { serveBucket } from '../helpers/bucket_http.js'
import { downloadObjects, duck, fileList } from '../helpers/duckdb.js'
import { makeEvents } from '../helpers/events.js'
import { FaultyBucket, InjectedFault } from '../helpers/faulty_bucket.js'
import { followTable, icebirdRows, isRawVariant } from '../helpers/iceberg_check.js'
import { canonical } from '../helpers/rows.js'

const T0 = Date.parse('2024-01-15T09:00:00Z')
const HOUR = 3_600_000
const MIN = 60_000
const ByScript = { $from: 'TailEvents', $groupBy: ['scriptName'], $compute: { n: { $count: '*' } } }
const TABLES = ['TailEvents', 'WorkerErrors'] as const

let http: Awaited<ReturnType<typeof serveBucket>>
/** The bucket the HTTP server serves; each test points it at its own. */
let served: Bucket = new MemoryBucket()
beforeAll(async () => { http = await serveBucket({ get: k => served.get(k) } as Bucket) })
afterAll(async () => { await http.close() })

function store(bucket: Bucket, retention?: Record<string, string>) {
  served = bucket
  const clock = { now: T0 }
  const db = DB({ TailEvents, WorkerErrors, ByScript }, {
    storage: bucket, now: () => clock.now, iceberg: icebergTables({ location: http.url }),
    ...(retention ? { retention } : {}),
  })
  return { db, clock }
}
type Store = ReturnType<typeof store>

async function ingest(db: Store['db'], n: number, seed: number) {
  await db.TailEvents.bulkCreate(makeEvents(n, { start: T0, spanMs: 3 * HOUR, seed }))
}

/** Two published snapshots (the second from a merge of late events), so one expires and metadata retires. */
async function twoSnapshots(s: Store, seed: number) {
  await ingest(s.db, 60, seed)
  s.clock.now += 4 * HOUR
  await s.db.compact()
  await ingest(s.db, 40, seed + 1)
  s.clock.now += MIN
  await s.db.compact({ maxL0Files: 2 })
}

/** find() rows limited to what is compacted: the table holds compacted data only, never the WAL tail. */
async function compactedRows(bucket: Bucket, s: Store, name: string): Promise<Record<string, unknown>[]> {
  const m = (await loadManifest(bucket, '', 0)).manifest
  const consumed = new Set(Object.values(m.collections).flatMap(c => c.consumed.map(x => x.key)))
  const pending = (await bucket.list({ prefix: 'wal/' })).objects.filter(o => !consumed.has(o.key))
  expect(pending, 'the comparison needs a fully compacted store').toEqual([])
  const target = (s.db as unknown as Record<string, { find(q?: object): Promise<Record<string, unknown>[]> }>)[name]!
  return target.find({})
}

/**
 * icebird's rows equal find({}) on every column both have: icebird returns VARIANT columns undecoded
 * (they are checked through DuckDB below) and adds the promoted columns, checked against their paths.
 */
async function expectTablesEqualFind(bucket: Bucket, s: Store, when: string) {
  for (const name of TABLES) {
    const { table, missing } = await followTable(bucket, http.url, `data/${name}`)
    expect(missing, `${when}: ${name}: objects the metadata names`).toEqual([])
    expect(table, `${when}: ${name} is published`).not.toBeNull()
    const found = await compactedRows(bucket, s, name)
    const got = await icebirdRows(http.url, `data/${name}`)
    expect(got.length, `${when}: ${name} rows`).toBe(found.length)
    expect(table!.files.reduce((n, f) => n + f.rows, 0)).toBe(found.length)
    const shared = Object.keys(found[0] ?? {}).filter(k => !got.some(r => isRawVariant(r[k])))
    // Parquet layout 2 writes an empty array field as null (arrays are never null: null means empty).
    const cell = (v: unknown) => (Array.isArray(v) && v.length === 0 ? null : v ?? null)
    const pick = (r: Record<string, unknown>) => Object.fromEntries(shared.map(k => [k, cell(r[k])]))
    expect(canonical(got.map(pick)), `${when}: ${name}`).toEqual(canonical(found.map(pick)))
    if (name === 'TailEvents') {
      const byColumns = (r: Record<string, unknown>) => [r.url, r.status, r.colo]
      const event = (r: Record<string, unknown>) => r.event as { request?: { url?: string; cf?: { colo?: string } }; response?: { status?: number } } | null
      const expected = found.map(r => [event(r)?.request?.url ?? null, event(r)?.response?.status ?? null, event(r)?.request?.cf?.colo ?? null])
      expect(canonical(got.map(byColumns)), `${when}: promoted columns`).toEqual(canonical(expected))
    }
  }
  expect(http.missing, `${when}: requests for missing objects`).toEqual([])
}

describe('Iceberg tables', () => {
  it('icebird reads every published table equal to find({}) before and after merges, recompacts and retention', async () => {
    const bucket = new MemoryBucket()
    const s = store(bucket, { TailEvents: '6 hours' })
    await ingest(s.db, 150, 1)
    s.clock.now += 4 * HOUR
    const first = await s.db.compact({ maxL0Files: 2 })
    expect(first.tablesPublished).toBe(2)
    await expectTablesEqualFind(bucket, s, 'first pass')
    // An aggregating view stores partial states, not rows: it is not published.
    expect(await bucket.head('data/ByScript/metadata/version-hint.text')).toBeNull()

    // The WAL tail is not in the table; status says the table is current and the tail waits.
    await ingest(s.db, 80, 2)
    const st = await s.db.status()
    expect(st.collections.TailEvents!.table).toMatchObject({ version: 1, current: true, behindMs: 0 })
    expect(st.collections.TailEvents!.wal.segments).toBe(1)
    expect(await icebirdRows(http.url, 'data/TailEvents')).toHaveLength(150)

    s.clock.now += MIN
    const merged = await s.db.compact({ maxL0Files: 2 })
    expect(merged.partitionsMerged).toBeGreaterThan(0)
    await expectTablesEqualFind(bucket, s, 'after merges')
    const after = (await followTable(bucket, http.url, 'data/TailEvents')).table!
    const snaps = after.metadata.snapshots as unknown as { summary: { operation: string } }[]
    expect(snaps.map(x => x.summary.operation)).toEqual(['append', 'overwrite'])
    // Nothing changed: no new snapshot, one GET per table for the pointers.
    s.clock.now += MIN
    expect((await s.db.compact()).tablesPublished).toBe(0)

    s.clock.now += MIN
    const r = await s.db.recompact({ from: T0, to: T0 + 3 * HOUR })
    expect(r.pass.partitionsRecompacted).toBeGreaterThan(0)
    await expectTablesEqualFind(bucket, s, 'after a recompact')
    const replaced = (await followTable(bucket, http.url, 'data/TailEvents')).table!.metadata.snapshots.at(-1) as unknown as
      { summary: Record<string, string> }
    expect(replaced.summary.operation).toBe('replace')

    // Retention drops the oldest hours: the table shows the rows find() still returns.
    s.clock.now = T0 + 8 * HOUR
    const expired = await s.db.compact()
    expect(expired.partitionsExpired).toBeGreaterThan(0)
    await expectTablesEqualFind(bucket, s, 'after retention')

    // Long after: snapshots expired, garbage collected, still every object named is stored.
    for (let i = 0; i < 3; i++) {
      s.clock.now += 7 * HOUR
      await s.db.compact()
      await expectTablesEqualFind(bucket, s, `after GC ${i}`)
    }
    const m = (await loadManifest(bucket, '', 0)).manifest
    expect(m.tables!.TailEvents!.snapshots).toHaveLength(1)
    await expectNothingLeaked(bucket)
  })

  it('the Avro files carry the Iceberg spec\'s field ids, and DuckDB reading exactly the listed files agrees', async () => {
    const bucket = new MemoryBucket()
    const s = store(bucket)
    await ingest(s.db, 120, 3)
    s.clock.now += 4 * HOUR
    await s.db.compact()
    await ingest(s.db, 40, 4)
    s.clock.now += MIN
    await s.db.compact({ maxL0Files: 2 })
    const { table } = await followTable(bucket, http.url, 'data/TailEvents')
    const meta = table!.metadata as Record<string, unknown>
    expect(meta).toMatchObject({ 'format-version': 2, location: `${http.url}/data/TailEvents`, 'default-spec-id': 0 })
    const spec = (meta['partition-specs'] as { fields: unknown[] }[])[0]!.fields[0]
    const schema = (meta.schemas as { fields: { id: number; name: string; type: unknown; required: boolean }[] }[]).at(-1)!
    const time = schema.fields.find(f => f.name === 'eventTimestamp')!
    expect(time).toMatchObject({ type: 'timestamptz', required: true })
    expect(spec).toEqual({ name: 'eventTimestamp_hour', transform: 'hour', 'source-id': time.id, 'field-id': 1000 })
    expect(schema.fields.find(f => f.name === 'url')).toMatchObject({ type: 'string', required: false })
    expect(schema.fields.find(f => f.name === 'status')).toMatchObject({ type: 'long' })
    expect(schema.fields.find(f => f.name === 'event')!.type).toMatchObject({ type: 'struct' })
    expect(new Set(schema.fields.map(f => f.id)).size).toBe(schema.fields.length)
    const mapping = JSON.parse((meta.properties as Record<string, string>)['schema.name-mapping.default']!) as
      { 'field-id': number; names: string[] }[]
    expect(mapping.map(x => [x['field-id'], x.names[0]])).toEqual(schema.fields.map(f => [f.id, f.name]))

    // The manifest list and manifest, decoded with avsc: the writer schema's field ids are the spec's.
    const snap = (meta.snapshots as { 'manifest-list': string }[]).at(-1)!
    const listBody = await bucket.get(snap['manifest-list'].slice(http.url.length + 1))
    const list = await avscReadFile(new Uint8Array(await listBody!.arrayBuffer()))
    expect(fieldIds(list.schema)).toMatchObject(MANIFEST_FILE_IDS)
    expect(list.metadata).toMatchObject({ 'format-version': '2' })
    const mf = list.records[0]!
    const manBody = await bucket.get((mf.manifest_path as string).slice(http.url.length + 1))
    const manifest = await avscReadFile(new Uint8Array(await manBody!.arrayBuffer()))
    expect(fieldIds(manifest.schema)).toMatchObject(MANIFEST_ENTRY_IDS)
    expect(manifest.metadata).toMatchObject({ 'format-version': '2', content: 'data', 'partition-spec-id': '0' })
    expect(JSON.parse(manifest.metadata['partition-spec']!)).toEqual([spec])
    const entries = manifest.records as { status: number; data_file: Record<string, unknown> }[]
    const live = entries.filter(e => e.status !== 2)
    expect(mf).toMatchObject({
      added_files_count: entries.filter(e => e.status === 1).length,
      existing_files_count: entries.filter(e => e.status === 0).length,
      deleted_files_count: entries.filter(e => e.status === 2).length,
    })
    expect(entries.some(e => e.status === 2), 'the merge\'s replaced files are listed as deleted').toBe(true)
    for (const e of live) {
      const d = e.data_file as { partition: Record<string, number>; file_path: string; lower_bounds: { key: number; value: Buffer }[] }
      // The partition value is the hour transform of every row's time: check it against the time bounds.
      const lower = d.lower_bounds.find(b => b.key === time.id)!.value.readBigInt64LE() / 1000n
      expect(Math.floor(Number(lower) / HOUR)).toBe(d.partition.eventTimestamp_hour)
      expect(d.file_path).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/data\/TailEvents\/dt=/)
    }

    // DuckDB, reading exactly the listed files, counts the rows find() returns and decodes the variants alike.
    const keys = live.map(e => (e.data_file.file_path as string).slice(http.url.length + 1))
    const paths = await downloadObjects(bucket, keys)
    const found = await compactedRows(bucket, s, 'TailEvents')
    const [count] = await duck(`SELECT count(*)::INTEGER AS n FROM read_parquet(${fileList(paths)})`)
    expect(count!.n).toBe(found.length)
    expect(live.reduce((n, e) => n + Number(e.data_file.record_count), 0)).toBe(found.length)
    // Layout 2 keeps a promoted value in its column only (its place in the variant holds null): put it back.
    const promoted = compileCollection('TailEvents', TailEvents).promoted.filter(p => p.path[0] === 'event')
    const columns = promoted.map(p => `, ${p.name}`).join('')
    const events = await duck(`SELECT event::JSON::VARCHAR AS event${columns} FROM read_parquet(${fileList(paths)})`)
    const whole = (r: Record<string, unknown>) => {
      const e = JSON.parse(String(r.event)) as Record<string, unknown> | null
      for (const p of promoted) {
        if (r[p.name] === null) continue
        const parent = p.path.slice(1, -1).reduce((o, k) => o[k] as Record<string, unknown>, e!)
        parent[p.path.at(-1)!] = p.type === 'int' ? Number(r[p.name]) : r[p.name] // DuckDB gives BIGINT as text
      }
      return e
    }
    expect(canonical(events.map(r => ({ e: whole(r) }))))
      .toEqual(canonical(found.map(r => ({ e: r.event ?? null }))))
  })

  it('survives a crash at every storage operation of a publishing pass: no file any snapshot lists is missing', async () => {
    async function setup() {
      const inner = new MemoryBucket()
      const faulty = new FaultyBucket(inner)
      const s = store(faulty)
      served = inner
      await ingest(s.db, 120, 5)
      s.clock.now += 4 * HOUR
      await s.db.compact({ maxL0Files: 2 })
      await ingest(s.db, 50, 6)
      s.clock.now += 11 * MIN // past the grace period of the first pass's segments
      faulty.count = 0
      return { ...s, inner, faulty }
    }
    const probe = await setup()
    await probe.db.compact({ maxL0Files: 2 })
    const opsPerRun = probe.faulty.count
    expect((await probe.db.status()).lastPass!.tablesPublished).toBe(2)
    expect(opsPerRun).toBeGreaterThan(20)

    for (let n = 1; n <= opsPerRun; n++) {
      const { db, clock, inner, faulty } = await setup()
      faulty.failAt = n
      const outcome = await db.compact({ maxL0Files: 2 }).then(() => 'completed', (e: unknown) => e)
      if (outcome !== 'completed') expect(outcome, `fault at op ${n}`).toBeInstanceOf(InjectedFault)
      faulty.failAt = Infinity
      for (const name of TABLES) {
        const { missing } = await followTable(inner, http.url, `data/${name}`)
        expect(missing, `fault at op ${n}: ${name}`).toEqual([])
      }
      await db.compact({ maxL0Files: 2 })
      await expectTablesEqualFind(inner, { db, clock }, `fault at op ${n}, next pass`)
      for (let i = 0; i < 2; i++) {
        clock.now += 7 * HOUR // past the grace period and the orphan age
        await db.compact({ maxL0Files: 2 })
        await expectTablesEqualFind(inner, { db, clock }, `fault at op ${n}, after GC ${i}`)
      }
      await expectNothingLeaked(inner)
    }
  })

  it('keeps a replaced file while a retained snapshot lists it, though its grace period has passed', async () => {
    const inner = new MemoryBucket()
    const faulty = new FaultyBucket(inner)
    const s = store(faulty)
    served = inner
    await ingest(s.db, 100, 7)
    s.clock.now += 4 * HOUR
    await s.db.compact()
    const listed = (await followTable(inner, http.url, 'data/TailEvents')).table!.files.map(f => f.key)
    // A merge commits, then the pass dies before it publishes: the current snapshot still lists the L0 files.
    await ingest(s.db, 60, 8)
    s.clock.now += MIN
    faulty.failAt = Infinity
    const puts: string[] = []
    const put = faulty.put.bind(faulty)
    faulty.put = async (key, value, options) => {
      if (key.includes('/metadata/')) throw new InjectedFault(`no publishing: ${key}`)
      puts.push(key)
      return put(key, value, options)
    }
    await expect(s.db.compact({ maxL0Files: 2 })).rejects.toThrow(InjectedFault)
    const m = (await loadManifest(inner, '', 0)).manifest
    const replaced = m.garbage.filter(g => listed.includes(g.key))
    expect(replaced.length).toBeGreaterThan(0)
    faulty.put = put
    // Past the grace period the publish runs: a new snapshot, but the old one is retained, so its files stay.
    s.clock.now += 11 * MIN
    await s.db.compact()
    for (const g of replaced) expect(await inner.head(g.key), g.key).not.toBeNull()
    const { missing } = await followTable(inner, http.url, 'data/TailEvents')
    expect(missing).toEqual([])
    // Once that snapshot expires, the next pass deletes them.
    s.clock.now += 11 * MIN
    await s.db.compact()
    s.clock.now += 11 * MIN
    await s.db.compact()
    for (const g of replaced) expect(await inner.head(g.key), g.key).toBeNull()
    await expectTablesEqualFind(inner, s, 'after the snapshot expired')
  })

  it('an idle store settles: no further publishes, and the retired metadata objects are collected', async () => {
    const bucket = new MemoryBucket()
    const s = store(bucket)
    await twoSnapshots(s, 11)
    const metadataKeys = async () => (await Promise.all(TABLES.map(t => bucket.list({ prefix: `data/${t}/metadata/` }))))
      .flatMap(l => l.objects.map(o => o.key))
    const retired = await metadataKeys()
    const state = async () => {
      const m = (await loadManifest(bucket, '', 0)).manifest
      return { manifest: m.version, tables: TABLES.map(t => m.tables![t]!.version), garbage: m.garbage.length }
    }
    // Past the grace period a few times: the expiring snapshots go, then their objects.
    for (let i = 0; i < 3; i++) {
      s.clock.now += 11 * MIN
      await s.db.compact()
    }
    const settled = await state()
    for (let i = 0; i < 10; i++) {
      s.clock.now += 11 * MIN
      const pass = await s.db.compact()
      expect(pass.tablesPublished, `idle pass ${i}`).toBe(0)
      expect(await state(), `idle pass ${i}`).toEqual(settled)
    }
    expect(settled.garbage, 'garbage left on an idle store').toBe(0)
    const now = await metadataKeys()
    const collected = retired.filter(k => !now.includes(k) && !k.endsWith('version-hint.text'))
    expect(collected.some(k => k.endsWith('.metadata.json')), 'a retired metadata JSON is deleted').toBe(true)
    expect(collected.some(k => k.endsWith('.avro')), 'an expired snapshot\'s Avro files are deleted').toBe(true)
    await expectNothingLeaked(bucket)
    await expectTablesEqualFind(bucket, s, 'idle')
  })

  it('a publish that keeps failing does not stop garbage collection; the pass records it and throws it', async () => {
    const bucket = new MemoryBucket()
    const s = store(bucket)
    await twoSnapshots(s, 13)
    // The catalog goes away: every publish fails from now on, while merges keep producing garbage.
    const real = icebergTables({ location: http.url })
    const broken = DB({ TailEvents, WorkerErrors, ByScript }, {
      storage: bucket, now: () => s.clock.now,
      iceberg: { ...real, build: async () => { throw new Error('catalog unreachable') } },
    })
    const garbage = async () => (await loadManifest(bucket, '', 0)).manifest.garbage
    const before = await garbage()
    expect(before.length).toBeGreaterThan(0)
    for (let i = 0; i < 3; i++) {
      s.clock.now += 11 * MIN
      await expect(broken.compact()).rejects.toThrow('catalog unreachable')
    }
    const last = await broken.status()
    expect(last.lastPass?.publishError).toBe('catalog unreachable')
    // Collected all the same, except what the snapshots already committed still list (safe-gc).
    const m = (await loadManifest(bucket, '', 0)).manifest
    const left = await garbage()
    expect(left.length).toBeLessThan(before.length)
    expect(left.filter(g => !heldBySnapshot(m, g, t => `data/${t}/`))).toEqual([])
    await expectNothingLeaked(bucket)
    await expectTablesEqualFind(bucket, s, 'after failed publishes')
  })

  it('db.publishTables() publishes on demand; a bad location is refused with the reason', async () => {
    const bucket = new MemoryBucket()
    const s = store(bucket)
    await ingest(s.db, 30, 9)
    s.clock.now += 4 * HOUR
    await s.db.compact()
    expect(await s.db.publishTables()).toEqual([])
    await bucket.delete('data/TailEvents/metadata/version-hint.text')
    await s.db.publishTables() // the pointers are repaired even when nothing changed
    expect(await bucket.head('data/TailEvents/metadata/version-hint.text')).not.toBeNull()
    expect(() => icebergTables({ location: 'parquedb-data' })).toThrow(/bucket's URI/)
    const plain = DB({ TailEvents }, { storage: new MemoryBucket() })
    await expect(plain.publishTables()).rejects.toThrow(/icebergTables/)
  })

  it('a store that stops publishing forgets its tables, so their snapshots hold nothing back', async () => {
    const bucket = new MemoryBucket()
    const s = store(bucket)
    await ingest(s.db, 40, 10)
    s.clock.now += 4 * HOUR
    await s.db.compact()
    const plain = DB({ TailEvents, WorkerErrors, ByScript }, { storage: bucket, now: () => s.clock.now })
    await plain.compact()
    expect((await loadManifest(bucket, '', 0)).manifest.tables).toEqual({})
    s.clock.now += 7 * HOUR
    await plain.compact()
    await plain.compact()
    expect((await bucket.list({ prefix: 'data/TailEvents/metadata/' })).objects).toEqual([])
  })
})

/** Every object under a table's metadata/ is one the manifest accounts for: a table's, or garbage. */
async function expectNothingLeaked(bucket: Bucket) {
  const m = (await loadManifest(bucket, '', 0)).manifest
  const garbage = new Set(m.garbage.map(g => g.key))
  for (const name of TABLES) {
    const t = m.tables![name]!
    const own = new Set([
      `data/${name}/metadata/version-hint.text`,
      ...[t.version, ...t.metadataLog.map(l => l.version)].map(v => `data/${name}/metadata/v${v}.metadata.json`),
      ...t.snapshots.flatMap(x => [x.manifestList, ...x.manifests]),
    ])
    const listed = (await bucket.list({ prefix: `data/${name}/metadata/` })).objects.map(o => o.key)
    expect(listed.filter(k => !own.has(k) && !garbage.has(k)), `${name}: unaccounted metadata objects`).toEqual([])
  }
}

/** Field name → field id over an Avro schema, nested records included (element ids as `name[]`). */
function fieldIds(schema: unknown, out: Record<string, number> = {}): Record<string, number> {
  const walk = (t: unknown) => {
    if (Array.isArray(t)) { t.forEach(walk); return }
    if (!t || typeof t !== 'object') return
    const o = t as Record<string, unknown>
    if (o.type === 'record') {
      for (const f of o.fields as Record<string, unknown>[]) {
        out[f.name as string] = f['field-id'] as number
        walk(f.type)
      }
    } else if (o.type === 'array') {
      if (o['element-id'] !== undefined) out[`${String((o.items as { name?: string }).name ?? 'element')}[]`] = o['element-id'] as number
      walk(o.items)
    }
  }
  walk(schema)
  return out
}

/** The Iceberg v2 spec's field ids (manifest lists: manifest_file; manifests: manifest_entry and data_file). */
const MANIFEST_FILE_IDS = {
  manifest_path: 500, manifest_length: 501, partition_spec_id: 502, content: 517, sequence_number: 515,
  min_sequence_number: 516, added_snapshot_id: 503, added_files_count: 504, existing_files_count: 505,
  deleted_files_count: 506, added_rows_count: 512, existing_rows_count: 513, deleted_rows_count: 514,
  partitions: 507, contains_null: 509, contains_nan: 518, lower_bound: 510, upper_bound: 511, key_metadata: 519,
}
const MANIFEST_ENTRY_IDS = {
  status: 0, snapshot_id: 1, sequence_number: 3, file_sequence_number: 4, data_file: 2, content: 134, file_path: 100,
  file_format: 101, partition: 102, eventTimestamp_hour: 1000, record_count: 103, file_size_in_bytes: 104,
  column_sizes: 108, value_counts: 109, null_value_counts: 110, nan_value_counts: 137, lower_bounds: 125,
  upper_bounds: 128, split_offsets: 132, equality_ids: 135, sort_order_id: 140,
}

describe('Iceberg REST catalog commits', () => {
  it('registers each table, then commits every new snapshot conditionally; another writer is detected', async () => {
    const bucket = new MemoryBucket()
    served = bucket
    const catalog = fakeRestCatalog(bucket, 's3://parquedb-data')
    const clock = { now: T0 }
    const db = DB({ TailEvents, WorkerErrors }, {
      storage: bucket, now: () => clock.now,
      iceberg: icebergTables({
        location: 's3://parquedb-data',
        catalog: { uri: catalog.uri, warehouse: 'w', token: 'secret', fetch: catalog.fetch as typeof fetch },
      }),
    })
    const expectInSync = async (when: string) => {
      const m = (await loadManifest(bucket, '', 0)).manifest
      for (const name of TABLES) {
        const t = m.tables![name]!
        const meta = catalog.tables.get(`parquedb.${name}`)!
        expect(meta['table-uuid'], when).toBe(t.uuid)
        expect(meta['current-snapshot-id'], when).toBe(t.snapshots.at(-1)!.id)
        expect(meta.snapshots.map(s => s['snapshot-id']), when).toEqual(t.snapshots.map(s => s.id))
        for (const s of meta.snapshots) {
          expect(await bucket.head(s['manifest-list'].slice('s3://parquedb-data/'.length)), when).not.toBeNull()
        }
      }
    }
    await db.TailEvents.bulkCreate(makeEvents(80, { start: T0, spanMs: 2 * HOUR, seed: 11 }))
    clock.now += 3 * HOUR
    await db.compact()
    expect(catalog.requests.filter(r => r.endsWith('/register'))).toHaveLength(2)
    await expectInSync('registered')

    await db.TailEvents.bulkCreate(makeEvents(30, { start: T0, spanMs: 2 * HOUR, seed: 12 }))
    clock.now += MIN
    await db.compact({ maxL0Files: 2 })
    await expectInSync('after a merge')
    // Nothing new: no catalog request at all.
    const before = catalog.requests.length
    clock.now += MIN
    await db.compact()
    expect(catalog.requests.length).toBe(before)

    // A commit that loses a race is reported and made again by the next pass.
    catalog.state.conflictNext = true
    await db.TailEvents.bulkCreate(makeEvents(10, { start: T0, spanMs: HOUR, seed: 13 }))
    clock.now += MIN
    await db.compact()
    const m = (await loadManifest(bucket, '', 0)).manifest
    expect(catalog.tables.get('parquedb.TailEvents')!['current-snapshot-id']).not.toBe(m.tables!.TailEvents!.snapshots.at(-1)!.id)
    clock.now += MIN
    await db.compact()
    await expectInSync('after a lost race')

    // Snapshots expire in the catalog as in the store.
    clock.now += 7 * HOUR
    await db.compact()
    clock.now += 7 * HOUR
    await db.compact()
    await expectInSync('after expiry')

    // Another writer's snapshot in the catalog: nothing is committed over it.
    const meta = catalog.tables.get('parquedb.TailEvents')!
    meta.snapshots.push({ 'snapshot-id': 7, 'manifest-list': 's3://elsewhere/x.avro', summary: { operation: 'append' } })
    meta.refs.main = { 'snapshot-id': 7, type: 'branch' }
    meta['current-snapshot-id'] = 7
    await db.TailEvents.bulkCreate(makeEvents(10, { start: T0, spanMs: HOUR, seed: 14 }))
    clock.now += MIN
    await db.compact()
    expect(catalog.tables.get('parquedb.TailEvents')!['current-snapshot-id']).toBe(7)
    expect(() => icebergTables({ location: 's3://b', catalog: { uri: 'catalog', warehouse: 'w', token: 't' } }))
      .toThrow(/iceberg.catalog needs uri/)
  })
})
