// Runs one SQL query over a folder bucket in its own process, so the parent can cap the heap
// (--max-old-space-size) and read the peak memory the query needed.
import { DB } from '../dist/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../dist/tail/index.js'
import { sampleMemory } from './memory_sampler.mjs'

const [dir, nowArg, query, runsArg] = process.argv.slice(2)
const memory = sampleMemory(2)
const db = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }, {
  storage: { type: 'fs', path: dir }, now: () => Number(nowArg), query: { maxRows: Infinity, timeoutMs: Infinity },
})
const times = []
let result
for (let i = 0; i < Number(runsArg ?? 1); i++) {
  const started = performance.now()
  result = await db.sql.explain([query])
  times.push(performance.now() - started)
  memory.sample()
}
memory.stop()
process.stdout.write(JSON.stringify({
  times, ...memory.peaks, rows: result.rows.length, paths: result.scans.map(s => s.path), fallback: result.fallback ?? null,
}))
