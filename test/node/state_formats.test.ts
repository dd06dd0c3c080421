import { parquetMetadata } from 'hyparquet'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { type ViewPlan, compileViews, finalizeRow, foldRows, mergeStateRows } from '../../src/mv/index.js'
import {
  STATE_FORMAT_KEY, STATE_FORMAT_VERSION, StateFormatError,
  decodeStateRows, stateFileMetadata, stateFormatOf, stateRowDecoder,
} from '../../src/mv/state_format.js'
import { readFileRowGroups } from '../../src/query/index.js'
import { type StoredRow, compileCollection, parquetColumns, toParquetRecord } from '../../src/schema/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { rng } from '../helpers/events.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-03-01T00:00:00Z')
const E = { t: 'timestamp!', script: 'string!', ms: 'double?', tag: 'string?' }
const ALL_KINDS = {
  n: { $count: '*' }, total: { $sum: 'ms' }, mean: { $avg: 'ms' }, least: { $min: 'ms' }, most: { $max: 'ms' },
  tags: { $countDistinct: 'tag' }, p90: { $percentile: ['ms', 0.9] },
}
const source = compileCollection('E', E)
const VIEW = { $from: 'E', $groupBy: ['script', { hour: '$t' }], $compute: ALL_KINDS }
const plan = compileViews({ V: VIEW }, [source], {})[0]!
const agg = plan.aggregate!

/** Rows of E: some without ms or tag, and ms values negative, zero and positive (every sketch bucket kind). */
function events(n: number, seed: number, start = T0, spanMs = 3 * HOUR): StoredRow[] {
  const rand = rng(seed)
  return Array.from({ length: n }, () => {
    const r = rand()
    return {
      t: start + Math.floor(rand() * spanMs),
      script: `s${Math.floor(rand() * 3)}`,
      ms: r < 0.1 ? null : r < 0.15 ? 0 : r < 0.25 ? -Math.round(rand() * 500) / 10 : Math.round(rand() * 20_000) / 10,
      tag: rand() < 0.2 ? null : `tag${Math.floor(rand() * 7)}`,
    }
  })
}

/** A view file as the compactor writes one (its layout and metadata), with or without the state format entry. */
async function writeStateFile(
  bucket: MemoryBucket, key: string, view: ViewPlan, rows: StoredRow[], extra: { key: string; value: string }[],
): Promise<number> {
  const records = rows.map(r => toParquetRecord(view.stored, r))
  const columnData = parquetColumns(view.stored).map(c => ({ ...c, data: records.map(r => r[c.name]) }))
  const kvMetadata = [
    { key: 'parquedb.collection', value: view.name }, { key: 'parquedb.partition', value: 'p' }, ...extra,
  ]
  const bytes = parquetWriteBuffer({ columnData, kvMetadata, createdBy: 'parquedb' })
  await bucket.put(key, new Uint8Array(bytes))
  return bytes.byteLength
}

/** Reads a view file back as the engine's readers decode states: the version from its metadata, then the layouts. */
async function readStateFile(bucket: MemoryBucket, key: string, view: ViewPlan): Promise<StoredRow[]> {
  const body = await bucket.get(key)
  const buffer = await body!.arrayBuffer()
  const decode = stateRowDecoder(view.aggregate!)
  const kv = parquetMetadata(buffer).key_value_metadata
  const out: StoredRow[] = []
  for await (const group of readFileRowGroups(bucket, view.stored, { key, bytes: buffer.byteLength })) {
    out.push(...decode(group, kv, key))
  }
  return out
}

const finalized = (rows: StoredRow[]) => rows.map(r => finalizeRow(agg, r))

describe('aggregate state format', () => {
  it('a file written by the current encoder says its version and round-trips every kind of state', async () => {
    const bucket = new MemoryBucket()
    const states = foldRows(agg, events(600, 1).map(r => plan.rowsFrom(r)).flat())
    expect(states.length).toBeGreaterThan(6)
    await writeStateFile(bucket, 'mv/V/new.parquet', plan, states, stateFileMetadata())
    const body = await bucket.get('mv/V/new.parquet')
    const kv = parquetMetadata(await body!.arrayBuffer()).key_value_metadata
    expect(kv).toContainEqual({ key: STATE_FORMAT_KEY, value: String(STATE_FORMAT_VERSION) })
    expect(stateFormatOf(kv, 'new.parquet')).toBe(STATE_FORMAT_VERSION)

    const back = await readStateFile(bucket, 'mv/V/new.parquet', plan)
    expect(back).toEqual(states)
    expect(finalized(back)).toEqual(finalized(states))
    // Read states still merge: a file's states plus the same batch again count everything twice.
    const twice = mergeStateRows(agg, [...back, ...states])
    expect(twice.map(r => r.n)).toEqual(states.map(r => 2 * (r.n as number)))
  })

  /**
   * Two groups as view files held them before formats had versions (no metadata entry): every
   * kind of state in its version-1 layout, and a group stored before most aggregates existed.
   * Written out by hand so a later change of the encoder cannot change the fixture with it.
   */
  const UNVERSIONED: StoredRow[] = [
    {
      script: 'a', hour: T0, n: 4, total: { s: 7.5, n: 3 }, mean: { s: 7.5, n: 3 }, least: { v: -2 }, most: { v: 9.5 },
      tags: { d: ['"x"', '"y"'] }, p90: { b: { '0': 1, '111': 1 }, z: 1, n: { '35': 1 }, count: 4 },
    },
    { script: 'b', hour: T0 + HOUR, n: 1, total: null, mean: null, least: null, most: null, tags: null, p90: null },
  ]

  it('a view file without a version (as written before versions) reads as version 1', async () => {
    const bucket = new MemoryBucket()
    await writeStateFile(bucket, 'mv/V/old.parquet', plan, UNVERSIONED, [])
    const back = await readStateFile(bucket, 'mv/V/old.parquet', plan)
    expect(back).toEqual(UNVERSIONED)
    const [a, b] = finalized(back)
    // p90 of the four values is the one at rank ⌊0.9·3⌋ = 2: after one negative (bucket 35, ≈ −1.99) and one
    // zero comes bucket 0, whose representative is 2/(γ+1) = 0.99.
    expect(a).toMatchObject({ script: 'a', n: 4, total: 7.5, mean: 2.5, least: -2, most: 9.5, tags: 2 })
    expect(a!.p90).toBeCloseTo(0.99, 12)
    expect(b).toMatchObject({ script: 'b', n: 1, total: 0, mean: null, least: null, most: null, tags: 0, p90: null })
    // And they merge with states the current encoder makes.
    const fresh = foldRows(agg, [{ t: T0 + 60_000, script: 'a', ms: 100, tag: 'z' }].map(r => plan.rowsFrom(r)).flat())
    const [merged] = finalized(mergeStateRows(agg, [...back, ...fresh]).filter(r => r.script === 'a'))
    expect(merged).toMatchObject({ n: 5, total: 107.5, mean: 107.5 / 4, least: -2, most: 100, tags: 3 })
    // Five values now: rank ⌊0.9·4⌋ = 3 is bucket 111, whose representative is 2γ¹¹¹/(γ+1) ≈ 9.1159.
    expect(merged!.p90).toBeCloseTo(9.115932, 5)
  })

  it.each([
    ['2', 2, /format 2 \(metadata parquedb\.stateFormat\) is not one this build of parquedb reads \(it reads 1\); a/],
    ['40', 40, /format 40 .*upgrade every reader and compactor/],
    ['two', '"two"', /format "two" .*parquedb never writes that/],
    ['', '""', /format "" .*rebuild the view with recompact/],
    ['01', '"01"', /format "01" /],
  ])('a file of state format %j is refused with a typed error, not read as another', async (value, found, message) => {
    const bucket = new MemoryBucket()
    const states = foldRows(agg, events(50, 2).map(r => plan.rowsFrom(r)).flat())
    await writeStateFile(bucket, 'mv/V/newer.parquet', plan, states, [{ key: STATE_FORMAT_KEY, value }])
    const error = await readStateFile(bucket, 'mv/V/newer.parquet', plan).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StateFormatError)
    expect(error).toMatchObject({
      name: 'StateFormatError', format: 'aggregate state', found, reads: [1], source: 'mv/V/newer.parquet',
    })
    expect((error as Error).message).toMatch(/^mv\/V\/newer\.parquet: aggregate state format /)
    expect((error as Error).message).toMatch(message)
  })

  it('decoding rows of a version this build does not read is the same typed error', () => {
    expect(() => decodeStateRows(agg, [], 2, 'f.parquet')).toThrow(StateFormatError)
    expect(() => decodeStateRows(agg, [], 2, 'f.parquet')).toThrow(/^f\.parquet: aggregate state format 2 .*reads 1/)
  })

  it.each([
    ['n', -1, /column n does not hold a count state of aggregate state format 1 \(expected a count, got the number/],
    ['n', { c: 3 }, /column n .*expected a count, got an object/],
    ['total', { sum: 7.5, n: 3 }, /column total does not hold a sum state .*\(s: missing\)/],
    ['mean', { s: '7.5', n: 3 }, /column mean .*s: expected a number, got the string "7.5"/],
    ['least', 4, /column least .*expected an object with v, got the number "4"/],
    ['most', {}, /column most .*v: missing/],
    ['tags', { d: [1, 2] }, /column tags .*d: expected a list of strings/],
    ['p90', { b: {}, z: 0, n: {} }, /column p90 does not hold a percentile state .*count: missing/],
    ['p90', { b: { x: 1 }, z: 0, n: {}, count: 1 }, /b: bucket "x" is not an integer index/],
    ['p90', { b: { '3': 1.5 }, z: 0, n: {}, count: 1 }, /b: bucket 3: expected a count/],
  ])('a stored %s of %j is refused, naming the column and what its layout lacks', (column, value, message) => {
    const row = { ...UNVERSIONED[0]!, [column]: value }
    expect(() => decodeStateRows(agg, [row], 1, 'mv/V/x.parquet')).toThrow(StateFormatError)
    expect(() => decodeStateRows(agg, [row], 1, 'mv/V/x.parquet')).toThrow(message)
  })

  it('the version is one metadata entry per file: 400 groups of 7 states grow by under 30 bytes', async () => {
    const bucket = new MemoryBucket()
    const rows = events(20_000, 3, T0, HOUR).map((r, i) => ({ ...r, script: `s${i % 400}` }))
    const states = foldRows(agg, rows.flatMap(r => plan.rowsFrom(r)))
    expect(states.length).toBe(400)
    const without = await writeStateFile(bucket, 'a.parquet', plan, states, [])
    const withVersion = await writeStateFile(bucket, 'b.parquet', plan, states, stateFileMetadata())
    expect(withVersion - without).toBeGreaterThan(0)
    expect(withVersion - without).toBeLessThan(30)
  })
})

describe('one view per aggregate kind, through a DB over a memory bucket, before and after compaction', () => {
  const defs = Object.fromEntries(Object.entries(ALL_KINDS).map(([name, op], i) => [
    // Half the views are cut by hour, half keep all their groups in one partition (hidden time).
    `V_${name}`, { $from: 'E', $groupBy: i % 2 ? ['script'] : ['script', { hour: '$t' }], $compute: { value: op } },
  ]))

  /** Plain JS: the value each view should hold per group, over every event written so far. */
  function reference(kind: string, written: StoredRow[], byHour: boolean): Map<string, unknown> {
    const groups = new Map<string, StoredRow[]>()
    for (const e of written) {
      const key = byHour ? `${e.script as string}|${Math.floor((e.t as number) / HOUR) * HOUR}` : (e.script as string)
      groups.set(key, [...(groups.get(key) ?? []), e])
    }
    const out = new Map<string, unknown>()
    for (const [key, rows] of groups) {
      const ms = rows.map(r => r.ms).filter((v): v is number => typeof v === 'number')
      const sorted = [...ms].sort((a, b) => a - b)
      out.set(key, {
        n: rows.length,
        total: ms.reduce((a, b) => a + b, 0),
        mean: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : null,
        least: ms.length ? sorted[0] : null,
        most: ms.length ? sorted.at(-1) : null,
        tags: new Set(rows.map(r => r.tag).filter(t => t !== null)).size,
        p90: ms.length ? sorted[Math.floor(0.9 * (ms.length - 1))] : null,
      }[kind])
    }
    return out
  }

  it('every view answers its reference over the WAL, Parquet, both, and merged files', async () => {
    const bucket = new MemoryBucket()
    const clock = { now: T0 + 4 * HOUR }
    type Handle = { find(): Promise<Record<string, unknown>[]>; bulkCreate(rows: unknown[]): Promise<unknown> }
    const options = { storage: bucket, now: () => clock.now, compaction: { maxL0Files: 2 } }
    const db = DB({ E, ...defs }, options) as unknown as Record<string, Handle> & { compact(): Promise<unknown> }
    const written: StoredRow[] = []
    const check = async (stage: string) => {
      for (const [i, name] of Object.keys(ALL_KINDS).entries()) {
        const byHour = i % 2 === 0
        const want = reference(name, written, byHour)
        const got = await db[`V_${name}`]!.find()
        const keyOf = (r: Record<string, unknown>) =>
          (byHour ? `${r.script as string}|${(r.hour as Date).getTime()}` : (r.script as string))
        const seen = new Map(got.map(r => [keyOf(r), r.value]))
        expect([...seen.keys()].sort(), `${stage}: V_${name} groups`).toEqual([...want.keys()].sort())
        for (const [key, value] of want) {
          const v = seen.get(key)
          if (name === 'p90' && typeof value === 'number') {
            // The sketch answers within its 1% relative error of the exact lower-rank quantile.
            const error = Math.abs((v as number) - value)
            expect(error, `${stage}: V_p90 ${key}`).toBeLessThanOrEqual(0.01 * Math.abs(value) + 1e-9)
          } else if (name === 'total' || name === 'mean') {
            expect(v, `${stage}: V_${name} ${key}`).toBeCloseTo(value as number, 6)
          } else {
            expect(v, `${stage}: V_${name} ${key}`).toEqual(value)
          }
        }
      }
      const answers = Object.keys(ALL_KINDS).map(async n => [n, await db[`V_${n}`]!.find()] as const)
      return Object.fromEntries(await Promise.all(answers))
    }
    const sortRows = (rows: Record<string, unknown>[]) =>
      [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))

    const waves = [events(300, 11), events(300, 12), events(300, 13)]
    await db.E!.bulkCreate(waves[0]!)
    written.push(...waves[0]!)
    const walOnly = await check('WAL only')
    await db.compact()
    const parquetOnly = await check('Parquet only')
    // The same answer, to the bit, whether the states came from the WAL or from view files (but for float
    // sums, which add in another order once partitions are written apart).
    for (const n of ['n', 'least', 'most', 'tags', 'p90']) {
      expect(sortRows(parquetOnly[n]!), n).toEqual(sortRows(walOnly[n]!))
    }
    for (const wave of waves.slice(1)) {
      await db.E!.bulkCreate(wave)
      written.push(...wave)
      await check('Parquet + WAL')
      clock.now += 10 * 60_000
      await db.compact()
      await check('after a pass')
    }
    const { manifest } = await loadManifest(bucket, '', clock.now)
    // The passes merged view files (L1), so states read back from Parquet were merged and written again.
    for (const n of Object.keys(ALL_KINDS)) {
      expect(manifest.collections[`V_${n}`]!.files.some(f => f.level === 1), n).toBe(true)
    }
  })
})

describe('the engine writes and checks the state format', () => {
  it('every compacted aggregate view file says its version; a file of an unknown version makes find() throw', async () => {
    const bucket = new MemoryBucket()
    let now = T0 + 4 * HOUR
    const db = DB({ E, V: VIEW }, { storage: bucket, now: () => now, compaction: { maxL0Files: 2 } })
    for (const seed of [1, 2, 3]) {
      await db.E.bulkCreate(events(100, seed))
      await db.compact()
    }
    now += 2 * HOUR
    await db.compact()
    const files = (await loadManifest(bucket, '', now)).manifest.collections.V!.files
    expect(files.some(f => f.level === 1)).toBe(true)
    for (const f of files) {
      const kv = parquetMetadata(await (await bucket.get(f.key))!.arrayBuffer()).key_value_metadata
      expect(kv?.find(e => e.key === STATE_FORMAT_KEY)?.value, f.key).toBe(String(STATE_FORMAT_VERSION))
    }
    expect((await db.V.find()).length).toBeGreaterThan(0)
    // A file from a later build: same states, version 2.
    const f = files[0]!
    const rows: StoredRow[] = []
    for await (const g of readFileRowGroups(bucket, plan.stored, f)) rows.push(...g)
    await writeStateFile(bucket, f.key, plan, rows, [{ key: STATE_FORMAT_KEY, value: '2' }])
    await expect(db.V.find()).rejects.toThrow(StateFormatError)
    await expect(db.V.find()).rejects.toThrow(/version 2|format 2|"2"/)
  })
})
