// Writes test/fixtures/layout-1/: a small store as the engine laid it out before file layouts had
// versions (Parquet layout 1: every promoted column also kept inside its VARIANT). It was run once, on
// the build of commit 51083e6, and its output is committed; running it on a later build would write
// that build's layout instead, so it is kept only to show how the fixture was made.
//
//   npm run build && node scripts/make-layout-fixture.mjs
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { DB, MemoryBucket } from '../dist/index.js'
import { TailEvents } from '../dist/tail/index.js'

const OUT = 'test/fixtures/layout-1'
const HOUR = 3_600_000
const T0 = Date.parse('2026-11-30T10:00:00Z')
let clock = T0

const items = JSON.parse(await readFile('test/fixtures/trace-items.json', 'utf8'))
// The recorded TraceItems moved into three hours, plus events that exercise the promoted paths'
// edge cases: a status that is a string (a misfit), a url that is null, an exception whose name is
// a number, keys in an unusual order, a url with non-ASCII text, an event without a request.
const events = []
for (let h = 0; h < 3; h++) {
  for (const [i, item] of items.entries()) {
    events.push({ ...item, scriptName: item.scriptName ?? `script-${i % 3}`, eventTimestamp: T0 + h * HOUR + i * 60_000 })
  }
}
const edge = (i, event, extra = {}) => ({
  scriptName: 'edge', outcome: 'ok', eventTimestamp: T0 + 2 * HOUR + 30 * 60_000 + i, event, ...extra,
})
events.push(
  edge(1, { response: { status: '200' }, request: { method: 'GET', url: 'https://a.example/1' } }),
  edge(2, { request: { url: null, method: 'POST', cf: { country: 'DE', colo: 'FRA' } } }),
  edge(3, { request: { cf: { colo: 7 }, url: 'https://ü.example/päth?q=✓' } }, {
    exceptions: [{ name: 42, message: 'a number for a name' }],
  }),
  edge(4, { cron: '*/5 * * * *', scheduledTime: T0 }),
  edge(5, null, { exceptions: [{ message: 'no name', name: 'Error', stack: 'at x' }, { name: 'Second' }] }),
  edge(6, { request: [{ url: 'https://in.an/array' }], response: { status: 404.5 } }),
)

const bucket = new MemoryBucket()
const db = DB({ TailEvents }, { storage: bucket, now: () => clock })
// Hour one: written, compacted while active (L0), then quiet and merged (L1).
await db.TailEvents.bulkCreate(events.filter(e => e.eventTimestamp < T0 + HOUR))
clock = T0 + 30 * 60_000
await db.compact()
clock = T0 + 2 * HOUR
// Hours two and three: two batches, a pass after each: L0 files.
const later = events.filter(e => e.eventTimestamp >= T0 + HOUR)
await db.TailEvents.bulkCreate(later.slice(0, 20))
await db.compact()
await db.TailEvents.bulkCreate(later.slice(20))
clock = T0 + 2 * HOUR + 45 * 60_000
await db.compact()
// Hour three goes quiet: its two L0 files are merged into one L1 file.
clock = T0 + 4 * HOUR
await db.compact()
// One batch left in the WAL, not compacted.
await db.TailEvents.bulkCreate([edge(100, { request: { url: 'https://still.in/the/wal', method: 'PUT' } })])

const rows = await db.TailEvents.find({}, { sort: { eventTimestamp: 1 } })
await rm(OUT, { recursive: true, force: true })
const listed = await bucket.list({})
for (const o of listed.objects) {
  const body = await bucket.get(o.key)
  const path = join(OUT, 'bucket', o.key)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, new Uint8Array(await body.arrayBuffer()))
}
await writeFile(join(OUT, 'rows.json'), JSON.stringify(rows, null, 1) + '\n')
await writeFile(join(OUT, 'clock.json'), JSON.stringify({ now: clock }) + '\n')
console.log(`${listed.objects.length} objects, ${rows.length} rows`)
