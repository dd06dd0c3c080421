#!/usr/bin/env node
/**
 * parquedb command-line tool: status, compact and recompact, against a deployed
 * tail worker's admin API (--url) or a local folder bucket (--dir).
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DB } from './index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from './tail/index.js'

const USAGE = `usage: parquedb <status|compact|recompact|sql> (--url <worker url> | --dir <folder>) [options]

  status                 WAL backlog, files and partitions, the last compaction pass
  compact                run one compaction pass now
  recompact              rewrite the stored partitions in a time range (resumes on the cron if large)
  sql "<SELECT ...>"     run a query over the collections and views (TailEvents, WorkerLogs,
                         WorkerErrors, WorkerRequests)

target (one of):
  --url <url>            a deployed parquedb tail worker; the token comes from --token
                         or the PARQUEDB_ADMIN_TOKEN environment variable
  --dir <folder>         a local folder bucket (storage { type: 'fs', path })

options:
  --from <date>          recompact: start of the range (ISO date or epoch ms), inclusive
  --to <date>            recompact: end of the range, exclusive
  --collections <a,b>    recompact: only these collections
  --prefix <prefix>      --dir: key prefix inside the bucket
  --token <token>        --url: admin bearer token
`

export class CliError extends Error {
  override name = 'CliError'
}

function parseDate(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v)
  if (Number.isNaN(d.getTime())) throw new CliError(`--${name}: not a date: ${v}`)
  return d
}

export async function main(argv: string[], out: (s: string) => void = s => process.stdout.write(s)): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' }, dir: { type: 'string' }, token: { type: 'string' }, prefix: { type: 'string' },
        from: { type: 'string' }, to: { type: 'string' }, collections: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.help || !command) { out(USAGE); return values.help ? 0 : 2 }
  if (!['status', 'compact', 'recompact', 'sql'].includes(command)) throw new CliError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  const query = positionals[1]
  if (command === 'sql' && !query) throw new CliError(`sql needs a query: parquedb sql "SELECT ..." --dir <folder>\n\n${USAGE}`)
  if (!values.url === !values.dir) throw new CliError(`give exactly one of --url or --dir\n\n${USAGE}`)
  const from = parseDate('from', values.from)
  const to = parseDate('to', values.to)
  const collections = values.collections?.split(',').map(s => s.trim()).filter(Boolean)

  let result: unknown
  if (values.url) {
    const token = values.token ?? process.env.PARQUEDB_ADMIN_TOKEN
    if (!token) throw new CliError('--url needs an admin token: --token or PARQUEDB_ADMIN_TOKEN')
    const path = command === 'status' ? '/admin/status' : `/admin/${command}`
    const res = await fetch(new URL(path, values.url), {
      method: command === 'status' ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(command === 'recompact' ? { body: JSON.stringify({ from, to, collections }) } : {}),
      ...(command === 'sql' ? { body: JSON.stringify({ query }) } : {}),
    })
    const text = await res.text()
    if (!res.ok) throw new CliError(`${res.status} ${res.statusText} from ${path}: ${text}`)
    result = JSON.parse(text)
  } else {
    const db = DB({ TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }, { storage: { type: 'fs', path: values.dir! }, ...(values.prefix ? { prefix: values.prefix } : {}) })
    if (command === 'status') result = await db.status()
    else if (command === 'compact') result = await db.compact()
    else if (command === 'sql') result = (await db.sql([query!] as unknown as TemplateStringsArray))
    else result = await db.recompact({ ...(from ? { from } : {}), ...(to ? { to } : {}), ...(collections ? { collections } : {}) })
  }
  out(JSON.stringify(result, null, 2) + '\n')
  return 0
}

/** True when run as a program, also through the npm bin symlink. */
function invokedDirectly(): boolean {
  const arg = process.argv[1]
  if (!arg) return false
  try {
    return realpathSync(arg) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    code => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`parquedb: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(e instanceof CliError ? 2 : 1)
    },
  )
}
