import { mulberry32 as rng } from '../../src/storage/latency_bucket.js'
import type { TailEventInput } from '../../src/tail/index.js'

/** A small deterministic PRNG, so generated data is the same on every run: the latency bucket's own. */
export { rng }

const SCRIPTS = ['api-worker', 'auth-worker', 'webhook-worker']
const COLOS = ['LHR', 'DFW', 'SJC', 'NRT', 'FRA']
const PATHS = ['/', '/users', '/login', '/orders/1', '/health']

/** TailEvents shaped like real TraceItems (fetch and scheduled, logs, exceptions), spread over time. */
export function makeEvents(n: number, opts: { start: number; spanMs: number; seed?: number }): TailEventInput[] {
  const rand = rng(opts.seed ?? 1)
  const out: TailEventInput[] = []
  for (let i = 0; i < n; i++) {
    const t = opts.start + Math.floor(rand() * opts.spanMs)
    const script = SCRIPTS[Math.floor(rand() * SCRIPTS.length)]!
    const scheduled = rand() < 0.1
    const fails = rand() < 0.15
    const colo = COLOS[Math.floor(rand() * COLOS.length)]!
    const path = PATHS[Math.floor(rand() * PATHS.length)]!
    out.push({
      scriptName: script,
      outcome: fails ? 'exception' : 'ok',
      eventTimestamp: new Date(t),
      event: scheduled
        ? { cron: '*/5 * * * *', scheduledTime: t }
        : {
            request: { url: `https://example.com${path}?i=${i}`, method: rand() < 0.7 ? 'GET' : 'POST', headers: { 'user-agent': 'test' }, cf: { colo, country: colo === 'LHR' ? 'GB' : 'US', asn: 13335 } },
            ...(fails ? {} : { response: { status: rand() < 0.1 ? 503 : 200 } }),
          },
      logs: [{ level: fails ? 'error' : 'log', message: [`handled ${path}`, { i }], timestamp: t }],
      exceptions: fails ? [{ name: 'TypeError', message: `boom ${i % 7}`, timestamp: t, stack: '    at fetch (worker.js:1:1)' }] : [],
      diagnosticsChannelEvents: [],
      cpuTime: Math.floor(rand() * 10),
      wallTime: Math.floor(rand() * 100),
      duration: null,
      truncated: false,
      executionModel: 'stateless',
      scriptTags: [],
    })
  }
  return out
}
