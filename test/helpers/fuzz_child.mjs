// The fuzz suite's memory check, run with a capped heap (--max-old-space-size): compaction passes
// over a folder bucket the parent filled with hostile batches, then a one-hour find() and a SQL
// COUNT(*). Prints what it saw as JSON; running out of memory kills it (the parent reports that).
import { DB } from '../../dist/index.js'
import { TailEvents } from '../../dist/tail/index.js'

const [dir, nowArg, hourArg] = process.argv.slice(2)
let peakHeap = 0
const sample = () => { peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed) }
const timer = setInterval(sample, 5)
const db = DB({ TailEvents }, { storage: { type: 'fs', path: dir }, now: () => Number(nowArg) })
const passes = []
for (let i = 0; i < 2; i++) {
  const started = performance.now()
  const s = await db.compact({ timeBudgetMs: 3_000 })
  passes.push({ ms: Math.round(performance.now() - started), segments: s.segmentsCompacted, rows: s.rowsCompacted, files: s.filesWritten, backlog: s.backlogSegments })
}
const from = Number(hourArg)
const hourRows = (await db.TailEvents.find({ eventTimestamp: { $gte: new Date(from), $lt: new Date(from + 3_600_000) } })).length
const [row] = await db.sql`SELECT COUNT(*) AS n FROM TailEvents`
sample()
clearInterval(timer)
process.stdout.write(JSON.stringify({ passes, hourRows, count: Number(row.n), peakHeap }))
