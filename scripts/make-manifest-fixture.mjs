// Writes test/fixtures/manifest-format-1.json: a manifest as the engine stored it before the compact
// manifest encoding (format 1: the manifest object as JSON), with L0 and L1 files of a collection and
// its views, consumed WAL segments, garbage and view states. It was run once, on the build of the
// commit that added it, and its output is committed; a later build writes the current format instead.
//
//   npm run build && node scripts/make-manifest-fixture.mjs
import { readFile, writeFile } from 'node:fs/promises'
import { DB, MemoryBucket } from '../dist/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../dist/tail/index.js'

const OUT = 'test/fixtures/manifest-format-1.json'
const MINUTE = 60_000
const T0 = Date.parse('2026-11-30T10:00:00Z')
let clock = T0

const items = JSON.parse(await readFile('test/fixtures/trace-items.json', 'utf8'))
const bucket = new MemoryBucket()
const db = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }, {
  storage: bucket, now: () => clock, compaction: { maxL0Files: 2, holdWalMs: 0 },
})
// Batches 25 minutes apart, a pass 5 minutes after each: L0 files, merges (L1) while the hour is
// active and once it is quiet, the replaced files in garbage and the consumed segments still inside
// their grace period.
for (let b = 0; b < 4; b++) {
  await db.TailEvents.bulkCreate(items.map((item, i) => ({
    ...item, scriptName: item.scriptName ?? `script-${i % 3}`, eventTimestamp: T0 + b * 25 * MINUTE + i * 1_000,
  })))
  clock = T0 + b * 25 * MINUTE + 5 * MINUTE
  await db.compact()
}
clock = T0 + 71 * MINUTE
await db.compact()
await writeFile(OUT, await (await bucket.get('_manifest.json')).text())
console.log(OUT)
