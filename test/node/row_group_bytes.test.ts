import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parquetMetadataAsync } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { writeDataFile } from '../../src/compactor/index.js'
import { MERGE_FILE_BYTES } from '../../src/compactor/pickers.js'
import { ROW_GROUP_BYTES, RowMeter, estimateBytes } from '../../src/compactor/row_bytes.js'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { compileCollection, normalizeRow, type StoredRow, toParquetRecord } from '../../src/schema/index.js'
import { type Bucket, MemoryBucket } from '../../src/storage/index.js'
import { TailEvents, type TailEventInput } from '../../src/tail/index.js'
import { makeEvents, rng } from '../helpers/events.js'

const run = promisify(execFile)
const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const schema = compileCollection('TailEvents', TailEvents)
const PARTITION = 'dt=2024-01-15/hour=00'

/** Text snappy cannot shrink, so file sizes are the data's. */
function noise(seed: number, length: number): string {
  const rand = rng(seed)
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let s = ''
  while (s.length < length) s += A[Math.floor(rand() * 64)]
  return s
}

function bigEvent(i: number, message: string): TailEventInput {
  return {
    scriptName: 'w', outcome: 'exception', eventTimestamp: new Date(T0 + 1000 + i * 10),
    event: { request: { url: `https://example.com/${i}`, method: 'GET' } },
    logs: [], exceptions: [{ name: 'Error', message: `${i} ${message}`, timestamp: T0 }],
    diagnosticsChannelEvents: [], scriptTags: [],
  } as TailEventInput
}

const stored = (e: TailEventInput): StoredRow => {
  const n = normalizeRow(schema, e)
  if (!n.ok) throw new Error(n.reason)
  return n.row
}

async function rowGroups(bucket: Bucket, key: string): Promise<number[]> {
  const meta = await parquetMetadataAsync(await (await bucket.get(key))!.arrayBuffer())
  return meta.row_groups.map(g => Number(g.num_rows))
}

describe('row groups are bounded in bytes as well as rows', () => {
  it('the writer measures a row as estimateBytes does, and gathers its VARIANT keys in the same walk', () => {
    let deep: unknown = { leaf: 'x' }
    for (let i = 0; i < 200; i++) deep = { [`k${i % 3}`]: deep, list: [i, null, { u: undefined }] }
    const rows = [...makeEvents(300, { start: T0, spanMs: HOUR, seed: 5 }).map(stored), stored(bigEvent(1, 'm')),
      { ...stored(bigEvent(2, 'n')), event: deep }]
    const meter = new RowMeter(schema.fields)
    for (const row of rows) expect(meter.measure(row)).toBe(estimateBytes(row))
    const keys = meter.take()
    const fields = schema.fields.map(f => f.name)
    const under = (v: unknown, out: Set<string>): Set<string> => {
      if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) if (x !== undefined) { if (!Array.isArray(v)) out.add(k); under(x, out) }
      }
      return out
    }
    expect(keys[fields.indexOf('event')]).toEqual(rows.reduce((s, r) => under(r.event, s), new Set<string>()))
    expect(keys[fields.indexOf('exceptions')]).toEqual(rows.reduce((s, r) => under(r.exceptions, s), new Set<string>()))
    expect(keys[fields.indexOf('exceptions')]!.has('message')).toBe(true)
    expect(keys[fields.indexOf('scriptName')]).toBeUndefined()
    expect([...meter.take()[fields.indexOf('event')]!]).toEqual([]) // a new group starts empty
  })

  it('cuts a group at ROW_GROUP_BYTES, each at most one row past it; ordinary rows fill rowGroupRows', async () => {
    const bucket = new MemoryBucket()
    const target = { prefix: '', collection: 'TailEvents', partition: PARTITION, level: 0 as const, createdAt: T0, rowGroupRows: 2000 }
    const big = Array.from({ length: 30 }, (_, i) => stored(bigEvent(i, noise(i, 300_000))))
    const file = (await writeDataFile(bucket, schema, big, target))!
    const groups = await rowGroups(bucket, file.key)
    expect(groups.reduce((a, b) => a + b, 0)).toBe(30)
    let at = 0
    for (const n of groups) {
      // As the writer counts a row: its record, plus its promoted values once more (file_writer.ts).
      const sizes = big.slice(at, at + n).map(r => toParquetRecord(schema, r))
        .map(rec => estimateBytes(rec) + schema.promoted.reduce((b, p) => {
          const v = rec[p.name]
          return b + (typeof v === 'string' ? v.length : v === null ? 0 : 8)
        }, 0))
      const total = sizes.reduce((a, b) => a + b, 0)
      expect(total - sizes.at(-1)!).toBeLessThan(ROW_GROUP_BYTES)
      if (at + n < big.length) expect(total).toBeGreaterThanOrEqual(ROW_GROUP_BYTES)
      at += n
    }
    expect(groups.length).toBe(8) // 4 rows reach 2 MB: 300 KB in exceptionMessage, counted twice
    const ordinary = makeEvents(2000, { start: T0, spanMs: HOUR, seed: 3 }).map(stored).sort((a, b) => (a.eventTimestamp as number) - (b.eventTimestamp as number))
    const small = (await writeDataFile(bucket, schema, ordinary, target))!
    expect(await rowGroups(bucket, small.key)).toEqual([2000])
  })

  it('a merge of large rows rolls its output over at MERGE_FILE_BYTES, and the next pass leaves the files alone', async () => {
    const clock = { now: T0 + 20 * 60_000 }
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, now: () => clock.now })
    const events = Array.from({ length: 24 }, (_, i) => bigEvent(i, noise(100 + i, 900_000)))
    for (let i = 0; i < events.length; i += 2) {
      expect((await db.TailEvents.bulkCreate(events.slice(i, i + 2))).rejected).toEqual([])
      await db.compact({ maxL0Files: 1000 })
    }
    clock.now += 2 * HOUR
    expect((await db.compact()).partitionsMerged).toBe(1)
    const files = (await loadManifest(bucket, '', clock.now)).manifest.collections.TailEvents!.files
    expect(files.length).toBeGreaterThanOrEqual(2)
    // Each output stops at the first row group that takes it past the limit.
    for (const f of files) expect(f.bytes).toBeLessThan(MERGE_FILE_BYTES + 2 * ROW_GROUP_BYTES)
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(24)
    const again = await db.compact()
    expect(again.partitionsMerged).toBe(0)
    const back = await db.TailEvents.find({}, { sort: { eventTimestamp: 1 } })
    expect(back.map(e => e.exceptions[0]!.message)).toEqual(events.map(e => (e.exceptions as { message: string }[])[0]!.message))
  })

  /**
   * Writes `files` L0 files of `rows` events with `bytes`-long messages into a folder bucket, then
   * merges them and reads every row back, each in a child process capped at `heapMB` of heap.
   */
  async function mergeAndReadUnderCap(files: number, rows: number, bytes: number, heapMB: number): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'parquedb-rowgroups-'))
    try {
      const clock = { now: T0 + 20 * 60_000 }
      const db = DB({ TailEvents }, { storage: { type: 'fs', path: dir }, now: () => clock.now })
      const text = noise(7, bytes + rows * 100)
      for (let f = 0; f < files; f++) {
        const batch = Array.from({ length: rows }, (_, i) => bigEvent(f * rows + i, text.slice(i * 100, i * 100 + bytes)))
        for (let i = 0; i < batch.length; i += 25) await db.TailEvents.bulkCreate(batch.slice(i, i + 25))
        clock.now += 1000
        await db.compact({ maxL0Files: 1000 })
      }
      const later = T0 + 3 * HOUR
      const cap = `--max-old-space-size=${heapMB}`
      const { stdout } = await run(process.execPath, [cap, 'bench/compact_child.mjs', dir, String(later), '{}'], { maxBuffer: 1 << 24 })
      expect((JSON.parse(stdout) as { pass: { partitionsMerged: number } }).pass.partitionsMerged).toBe(1)
      const script = `
        import { DB } from 'parquedb'
        import { TailEvents } from 'parquedb/tail'
        const db = DB({ TailEvents }, { storage: { type: 'fs', path: process.argv[1] }, now: () => ${later} })
        let n = 0
        for await (const r of db.TailEvents.find({ outcome: 'exception' })) n += r.exceptions[0].message.length >= ${bytes} ? 1 : 0
        console.log(JSON.stringify({ n }))
      `
      const read = await run(process.execPath, [cap, '--input-type=module', '-e', script, dir], { maxBuffer: 1 << 24 })
      expect(JSON.parse(read.stdout)).toEqual({ n: files * rows })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  it('1,200 rows of 50 KB in 16 files merge and read back under a 64 MB heap (before: the merge ran out of it)', async () => {
    await mergeAndReadUnderCap(16, 75, 50_000, 64)
  }, 120_000)

  it('24 events with a 1 MB message in 8 files merge and read back under a 32 MB heap (before: neither did)', async () => {
    await mergeAndReadUnderCap(8, 3, 1_000_000, 32)
  }, 120_000)
})
