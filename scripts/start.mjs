#!/usr/bin/env node
// `npm start`: the tail worker and a demo producer on local workerd with a local R2
// bucket (kept in .wrangler/state). Requests to the producer become TraceItems that the
// tail worker writes to the WAL; the cron (trigger it by hand, below) compacts them.
import { spawn } from 'node:child_process'

const TAIL_PORT = Number(process.env.PARQUEDB_TAIL_PORT ?? 8788)
const DEMO_PORT = Number(process.env.PARQUEDB_DEMO_PORT ?? 8787)
const TOKEN = process.env.PARQUEDB_ADMIN_TOKEN ?? 'local-dev-token'
const wrangler = ['node_modules/wrangler/bin/wrangler.js', 'dev', '--persist-to', '.wrangler/state', '--ip', '127.0.0.1']
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' }

const children = [
  spawn(process.execPath, [...wrangler, '-c', 'wrangler.toml', '--port', String(TAIL_PORT), '--inspector-port', '9230', '--test-scheduled', '--var', `PARQUEDB_ADMIN_TOKEN:${TOKEN}`], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  spawn(process.execPath, [...wrangler, '-c', 'examples/demo-producer/wrangler.toml', '--port', String(DEMO_PORT), '--inspector-port', '9231'], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
]
const names = ['parquedb-tail', 'demo-producer']
children.forEach((child, i) => {
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', buf => {
      for (const line of String(buf).split('\n')) {
        // Without network, wrangler cannot fetch Request.cf and says so at length; it uses a placeholder.
        if (!line.trim() || /ENOTFOUND|getaddrinfo|^\s+at |Request\.cf/.test(line)) continue
        process.stdout.write(`[${names[i]}] ${line}\n`)
      }
    })
  }
  child.on('exit', code => { console.log(`[${names[i]}] exited with ${code}`); shutdown(code ?? 1) })
})

async function waitReady(port) {
  for (let i = 0; i < 240; i++) {
    try { await fetch(`http://127.0.0.1:${port}/`); return } catch { await new Promise(r => setTimeout(r, 250)) }
  }
  throw new Error(`nothing answered on port ${port} after 60 s`)
}

await Promise.all([waitReady(TAIL_PORT), waitReady(DEMO_PORT)])
console.log(`
ParqueDB tail engine, running locally (local workerd, local R2 in .wrangler/state):

  demo producer   http://127.0.0.1:${DEMO_PORT}/        each request is tailed into ParqueDB
                  curl http://127.0.0.1:${DEMO_PORT}/hello; curl http://127.0.0.1:${DEMO_PORT}/throw
  compaction      curl "http://127.0.0.1:${TAIL_PORT}/__scheduled?cron=*+*+*+*+*"     (the cron, by hand)
  status          curl -H "authorization: Bearer ${TOKEN}" http://127.0.0.1:${TAIL_PORT}/admin/status
  query           curl -X POST -H "authorization: Bearer ${TOKEN}" -d '{"query":"SELECT url, status, outcome FROM WorkerRequests ORDER BY timestamp DESC LIMIT 5"}' http://127.0.0.1:${TAIL_PORT}/admin/sql
  recompact       curl -X POST -H "authorization: Bearer ${TOKEN}" -d '{"from":"2024-01-01"}' http://127.0.0.1:${TAIL_PORT}/admin/recompact

Ctrl-C stops both.
`)

let stopping = false
function shutdown(code) {
  if (stopping) return
  stopping = true
  for (const c of children) c.kill('SIGTERM')
  setTimeout(() => process.exit(code), 500)
}
process.on('SIGINT', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))
