// Runs one compaction pass over a folder bucket in its own process, so the parent can
// cap the heap (--max-old-space-size) and read the peak memory the pass needed.
import { DB } from '../dist/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../dist/tail/index.js'

const [dir, nowArg, optsArg, withViews] = process.argv.slice(2)
let peakRss = 0
let peakHeap = 0
const sample = () => {
  const m = process.memoryUsage()
  peakRss = Math.max(peakRss, m.rss)
  peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers)
}
const timer = setInterval(sample, 5)
const schema = withViews === 'views' ? { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests } : { TailEvents }
const db = DB(schema, { storage: { type: 'fs', path: dir }, now: () => Number(nowArg) })
const started = performance.now()
const pass = await db.compact({ timeBudgetMs: 600_000, ...JSON.parse(optsArg ?? '{}') })
const ms = performance.now() - started
sample()
clearInterval(timer)
process.stdout.write(JSON.stringify({ ms, peakRss, peakHeap, pass }))
