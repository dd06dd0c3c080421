#!/usr/bin/env node
// `npm start`: the tail worker, three demo producers (api-worker, auth-worker, shop-worker) and a
// traffic generator on local workerd with a local R2 bucket kept in .wrangler/state. Compaction
// runs every PARQUEDB_COMPACT_SECONDS (15); the dashboard is at the tail worker's `/`.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startLocalStack } from './local-stack.mjs'
import { pickRequest } from './traffic.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const num = (name, fallback) => {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  if (!/^\d+(\.\d+)?$/.test(v)) { console.error(`npm start: ${name} must be a number, got ${JSON.stringify(v)}`); process.exit(2) }
  return Number(v)
}
const TAIL_PORT = num('PARQUEDB_TAIL_PORT', 8788)
const DEMO_PORT = num('PARQUEDB_DEMO_PORT', 8787)
const INSPECTOR_PORT = num('PARQUEDB_INSPECTOR_PORT', 0)
const RATE = num('PARQUEDB_TRAFFIC', 5) // requests per second; 0 turns the generator off
const COMPACT_S = num('PARQUEDB_COMPACT_SECONDS', 15)
const TOKEN = process.env.PARQUEDB_ADMIN_TOKEN || 'local-dev-token'
const STATE = process.env.PARQUEDB_STATE || join(root, '.wrangler/state')
const LOCK = join(STATE, 'parquedb-start.json')

/** Says who holds a port we need, or null when it is free. */
function portBusy(port) {
  return new Promise(resolve => {
    const s = createServer()
    s.once('error', e => resolve(e.code === 'EADDRINUSE' ? 'in use' : e.message))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(null)))
  })
}

function alive(pid) {
  try { process.kill(pid, 0); return true } catch (e) { return e.code === 'EPERM' }
}

// A second `npm start` on the same state folder (or the same ports) says so and stops.
let held = null
try { held = JSON.parse(readFileSync(LOCK, 'utf8')) } catch { /* none */ }
if (held && held.pid !== process.pid && alive(held.pid)) {
  console.error(`npm start is already running (process ${held.pid}) on this state folder:
  dashboard  ${held.dashboard}   (token: ${held.token})
Stop it with Ctrl-C in its terminal, or start another one beside it with its own ports and state:
  PARQUEDB_TAIL_PORT=8798 PARQUEDB_DEMO_PORT=8797 PARQUEDB_STATE=.wrangler/state-2 npm start`)
  process.exit(1)
}
for (const [name, port] of [['PARQUEDB_TAIL_PORT', TAIL_PORT], ['PARQUEDB_DEMO_PORT', DEMO_PORT]]) {
  const busy = port && await portBusy(port)
  if (busy) {
    console.error(`npm start: port ${port} is ${busy} (another program, or another checkout's npm start); `
      + `choose another with ${name}=<port>`)
    process.exit(1)
  }
}

console.log('building the dashboard and bundling the workers (as wrangler deploy would)…')
execFileSync(process.execPath, [join(root, 'scripts/embed-dashboard.mjs')], { stdio: 'inherit' })
mkdirSync(STATE, { recursive: true })
const stack = await startLocalStack({
  port: TAIL_PORT, token: TOKEN, persist: STATE, ...(INSPECTOR_PORT ? { inspectorPort: INSPECTOR_PORT } : {}),
  output: line => { if (process.env.PARQUEDB_VERBOSE) console.log(`\n${line}`) },
})
const dashboard = `http://127.0.0.1:${TAIL_PORT}/`
writeFileSync(LOCK, JSON.stringify({ pid: process.pid, dashboard, token: TOKEN }))
// On 'exit': Miniflare's own signal hook ends the process on Ctrl-C, before any async cleanup.
process.on('exit', () => {
  try { if (JSON.parse(readFileSync(LOCK, 'utf8')).pid === process.pid) rmSync(LOCK) } catch { /* gone */ }
})

// The demo producers over plain HTTP: /<script>/<path> (api-worker when the first part is no script).
const counts = { sent: 0, '2xx': 0, '4xx': 0, '5xx': 0 }
const count = status => { counts.sent++; counts[`${String(status)[0]}xx`] = (counts[`${String(status)[0]}xx`] ?? 0) + 1 }
const demo = createHttpServer(async (req, res) => {
  const parts = (req.url ?? '/').split('/')
  const script = stack.scripts.includes(parts[1]) ? parts[1] : 'api-worker'
  const path = script === parts[1] ? `/${parts.slice(2).join('/')}` : req.url
  const status = await stack.send(script, path, { method: req.method === 'POST' ? 'POST' : 'GET' })
  count(status)
  res.writeHead(status, { 'content-type': 'text/plain' })
  res.end(`${script} answered ${status} for ${path}\n`)
})
demo.listen(DEMO_PORT, '127.0.0.1')

console.log(`
ParqueDB tail engine, running locally (local workerd, local R2 in ${STATE}):

  dashboard       ${dashboard}        sign in with the token: ${TOKEN}
  demo producers  http://127.0.0.1:${DEMO_PORT}/<api-worker|auth-worker|shop-worker>/<path>
                  curl http://127.0.0.1:${DEMO_PORT}/api-worker/throw     (an uncaught TypeError)
                  curl http://127.0.0.1:${DEMO_PORT}/shop-worker/db       (a DatabaseError)
  traffic         ${RATE ? `${RATE} requests a second, a realistic mix (PARQUEDB_TRAFFIC=0 turns it off)` : 'off'}
  compaction      every ${COMPACT_S} s (PARQUEDB_COMPACT_SECONDS)
  CLI             PARQUEDB_ADMIN_TOKEN=${TOKEN} npx parquedb status --url ${dashboard}
                  PARQUEDB_ADMIN_TOKEN=${TOKEN} npx parquedb tail --url ${dashboard} --outcome exception

Ctrl-C stops everything.
`)

const timers = []
if (RATE > 0) {
  timers.push(setInterval(() => {
    const r = pickRequest()
    stack.send(r.script, r.path, { method: r.method, cf: r.cf }).then(count)
  }, 1000 / RATE))
}
let lastPass = null
let passing = false
timers.push(setInterval(() => {
  if (passing) return
  passing = true
  stack.compact().catch(e => console.error(`\ncompaction failed: ${e.message}`)).finally(() => { passing = false })
}, COMPACT_S * 1000))

// One line, rewritten in place: what was sent, what is stored, how far compaction is behind.
async function summary() {
  const s = await stack.admin('/admin/status')
  const c = s.collections.TailEvents
  lastPass = s.lastPass
  const passAgo = lastPass ? `${Math.round((Date.now() - lastPass.at) / 1000)} s ago` : 'none yet'
  return `sent ${counts.sent} (2xx ${counts['2xx']}, 4xx ${counts['4xx']}, 5xx ${counts['5xx']}) · stored ${c.rows} rows `
    + `in ${c.files} files, WAL ${c.wal.segments} segments · last pass ${passAgo}`
}
const tty = process.stdout.isTTY
let lines = 0
timers.push(setInterval(() => {
  summary().then(line => {
    if (tty) process.stdout.write(`\r\x1b[2K${line}`)
    else if (lines++ % 15 === 0) console.log(line)
  }, e => console.error(`\nstatus failed: ${e.message}`))
}, 2000))

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  for (const t of timers) clearInterval(t)
  demo.close()
  await stack.dispose().catch(() => undefined)
  console.log('\nstopped')
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
