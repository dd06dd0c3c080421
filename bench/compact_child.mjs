// Runs one compaction pass over a folder bucket in its own process, so the parent can
// cap the heap (--max-old-space-size) and read the peak memory the pass needed.
import { DB } from '../dist/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../dist/tail/index.js'
import { sampleMemory } from './memory_sampler.mjs'

const [dir, nowArg, optsArg, withViews] = process.argv.slice(2)
const memory = sampleMemory(5)
const schema = withViews === 'views' ? { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests } : { TailEvents }
const db = DB(schema, { storage: { type: 'fs', path: dir }, now: () => Number(nowArg) })
const started = performance.now()
const pass = await db.compact({ timeBudgetMs: 600_000, ...JSON.parse(optsArg ?? '{}') })
const ms = performance.now() - started
memory.stop()
process.stdout.write(JSON.stringify({ ms, ...memory.peaks, pass }))
