#!/usr/bin/env node
/**
 * parquedb command-line tool. Every command is a request to the admin API: sent to a deployed tail
 * worker (--url) or answered in-process by a DB over a local folder bucket (--dir) through the same
 * db.fetchAdmin, so both give the same answers. Tables for people; --json for scripts.
 */
import { existsSync, realpathSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { eventLine, fields, statsLine, statusText, table, time } from './cli/index.js'
import { normalizePrefix } from './db/index.js'
import { DB, DBConfigError, type DBCore, ExprError, SchemaError, SqlError } from './index.js'
import { loadManifest } from './manifest/index.js'
import { manifestKey, walPrefix } from './storage/index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from './tail/index.js'

const COMMANDS = ['status', 'compact', 'recompact', 'sql', 'find', 'tail', 'files']

const USAGE = `usage: parquedb <command> (--url <worker url> | --dir <folder>) [options]

commands:
  status                     WAL backlog, files and partitions, the last compaction pass
  compact                    run one compaction pass now
  recompact                  rewrite the stored partitions in a time range (resumes on the cron if large)
  sql "<SELECT ...>"         a query over the collections and views (TailEvents, WorkerLogs,
                             WorkerErrors, WorkerRequests)
  find <collection> [filter] a find() with a JSON filter ({"$date": "..."} for dates);
                             --sort, --limit (100), --skip, --project
  tail                       the newest tail events, then new ones as they arrive (Ctrl-C stops);
                             --script, --outcome, --level, --status (500, 5xx), --search <text>,
                             --from (default: 5 minutes ago), --interval <seconds> (2)
  files <collection>         the live Parquet files (from the manifest) and a read_parquet([...])
                             for DuckDB; --bucket <name> names the R2 bucket for --url

target (one of):
  --url <url>            a deployed parquedb tail worker; the token comes from --token
                         or the PARQUEDB_ADMIN_TOKEN environment variable
  --dir <folder>         a local folder bucket (storage { type: 'fs', path }) holding a store

options:
  --json                 the admin API's JSON instead of tables (tail: one JSON event a line)
  --from <date>          recompact: start of the range (ISO date or epoch ms), inclusive; tail: since
  --to <date>            recompact: end of the range, exclusive
  --collections <a,b>    recompact: only these collections
  --prefix <prefix>      --dir: key prefix inside the bucket
  --schema <module>      --dir: an ES module (.js/.mjs) exporting your DB schema as \`schema\`
                         or default; without it the CLI knows TailEvents and the three
                         pre-built views only
  --force                --dir compact/recompact: run even though the store has views the
                         schema does not define (the worker's next pass rebuilds them)
  --token <token>        --url: admin bearer token
`

export class CliError extends Error {
  override name = 'CliError'
}

type Schema = Record<string, Record<string, unknown>>

async function loadSchema(path: string): Promise<Schema> {
  let mod: Record<string, unknown>
  try {
    mod = await import(pathToFileURL(resolve(path)).href) as Record<string, unknown>
  } catch (e) {
    throw new CliError(`--schema ${path}: cannot import it (${(e as Error).message}); ` +
      'it must be an ES module Node can run, e.g. compiled .js or .mjs')
  }
  const schema = mod.schema ?? mod.default
  if (typeof schema !== 'object' || schema === null) {
    throw new CliError(`--schema ${path}: export the schema object as \`schema\` or as the default export`)
  }
  return schema as Schema
}

/**
 * A pass run by a DB that lacks some of the store's views makes the store forget them, and the
 * worker's next pass then rebuilds each from all stored data: refuse unless asked to.
 */
async function refuseForeignViews(db: DBCore, schema: object, prefix: string | undefined): Promise<void> {
  const { manifest } = await loadManifest(await db.bucket(), normalizePrefix(prefix), Date.now())
  const foreign = Object.entries(manifest.views ?? {})
    .filter(([name, v]) => v.definition !== undefined && v.dropped === undefined && !(name in schema))
    .map(([name]) => name)
  if (foreign.length) {
    throw new CliError(`this store has views the CLI's schema does not define: ${foreign.join(', ')}. `
      + 'A pass run here would make the store forget them and the worker would rebuild them from all stored data. '
      + 'Pass --schema <module> exporting your schema, use --url against the worker, or --force.')
  }
}

/** --dir must name a folder holding a store (a manifest or WAL segments), not one read as empty. */
async function refuseNonStore(db: DBCore, dir: string, prefix: string | undefined): Promise<void> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--dir ${dir}: no such folder`)
  const bucket = await db.bucket()
  const p = normalizePrefix(prefix)
  if (await bucket.head(manifestKey(p))) return
  for (const c of db.collections) {
    if ((await bucket.list({ prefix: walPrefix(p, c.name), limit: 1 })).objects.length) return
  }
  throw new CliError(`--dir ${dir}${prefix ? ` --prefix ${prefix}` : ''} holds no ParqueDB store: no manifest and no `
    + `WAL segments of ${db.collections.map(c => c.name).join(', ')}. Point --dir at the folder given as `
    + "storage: { type: 'fs', path } (and --prefix at the DB's prefix), or write to it first")
}

function parseDate(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v)
  if (Number.isNaN(d.getTime())) throw new CliError(`--${name}: not a date: ${v}`)
  return d
}

function parseJson(name: string, v: string | undefined): unknown {
  if (v === undefined) return undefined
  try {
    return JSON.parse(v)
  } catch (e) {
    throw new CliError(`${name} is not JSON (${(e as Error).message}): ${v}`)
  }
}

function parseCount(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new CliError(`--${name} must be a non-negative integer, got ${v}`)
  return Number(v)
}

/** One admin request: where it goes and what it carries. */
interface Call {
  method: 'GET' | 'POST'
  path: string
  body?: unknown
}

type Send = (call: Call) => Promise<unknown>

export interface MainOptions {
  /** Stops `tail` (Ctrl-C does otherwise). */
  signal?: AbortSignal
}

export async function main(
  argv: string[], out: (s: string) => void = s => process.stdout.write(s), opts: MainOptions = {},
): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' }, dir: { type: 'string' }, token: { type: 'string' }, prefix: { type: 'string' },
        from: { type: 'string' }, to: { type: 'string' }, collections: { type: 'string' }, schema: { type: 'string' },
        force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' },
        sort: { type: 'string' }, limit: { type: 'string' }, skip: { type: 'string' }, project: { type: 'string' },
        script: { type: 'string' }, outcome: { type: 'string' }, level: { type: 'string' }, status: { type: 'string' },
        search: { type: 'string' }, interval: { type: 'string' }, bucket: { type: 'string' },
      },
    })
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.help || !command) { out(USAGE); return values.help ? 0 : 2 }
  if (!COMMANDS.includes(command)) throw new CliError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  const arg = positionals[1]
  if (command === 'sql' && !arg) {
    throw new CliError(`sql needs a query: parquedb sql "SELECT ..." --dir <folder>\n\n${USAGE}`)
  }
  if ((command === 'find' || command === 'files') && !arg) {
    throw new CliError(`${command} needs a collection: parquedb ${command} TailEvents --dir <folder>\n\n${USAGE}`)
  }
  if (!values.url === !values.dir) throw new CliError(`give exactly one of --url or --dir\n\n${USAGE}`)
  const from = parseDate('from', values.from)
  const to = parseDate('to', values.to)
  const collections = values.collections?.split(',').map(s => s.trim()).filter(Boolean)

  let send: Send
  if (values.url) {
    const token = values.token ?? process.env.PARQUEDB_ADMIN_TOKEN
    if (!token) throw new CliError('--url needs an admin token: --token or PARQUEDB_ADMIN_TOKEN')
    send = call => answer(call, fetch(new URL(call.path, values.url), request(call, token)))
  } else {
    const schema: Schema = values.schema
      ? await loadSchema(values.schema)
      : { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }
    const db = DB(schema, {
      storage: { type: 'fs', path: values.dir! }, ...(values.prefix ? { prefix: values.prefix } : {}),
    })
    await refuseNonStore(db, values.dir!, values.prefix)
    if ((command === 'compact' || command === 'recompact') && !values.force) {
      await refuseForeignViews(db, schema, values.prefix)
    }
    // The same admin API the worker serves, answered in-process: the same checks, the same JSON.
    const token = crypto.randomUUID()
    send = call => answer(call, db.fetchAdmin(new Request(new URL(call.path, 'http://parquedb.local'),
      request(call, token)), { PARQUEDB_ADMIN_TOKEN: token }).then(r => r!))
  }

  const show = (result: unknown, text: () => string) =>
    out(values.json ? `${JSON.stringify(result, null, 2)}\n` : text())
  switch (command) {
    case 'status': {
      const s = await send({ method: 'GET', path: '/admin/status' })
      show(s, () => statusText(s as Parameters<typeof statusText>[0], Date.now()))
      break
    }
    case 'compact': {
      const s = await send({ method: 'POST', path: '/admin/compact' })
      show(s, () => fields(s as Record<string, unknown>))
      break
    }
    case 'recompact': {
      const body = { from: from?.toISOString(), to: to?.toISOString(), collections }
      const s = await send({ method: 'POST', path: '/admin/recompact', body })
      show(s, () => fields(s as Record<string, unknown>))
      break
    }
    case 'sql':
    case 'find': {
      const call: Call = command === 'sql'
        ? { method: 'POST', path: '/admin/sql', body: { query: arg } }
        : {
            method: 'POST', path: '/admin/find', body: {
              collection: arg, filter: parseJson('the filter', positionals[2]), sort: parseJson('--sort', values.sort),
              limit: parseCount('limit', values.limit), skip: parseCount('skip', values.skip),
              project: parseJson('--project', values.project),
            },
          }
      const r = await send(call) as { rows: Record<string, unknown>[]; stats: Parameters<typeof statsLine>[0] }
      show(r, () => `${table(r.rows)}${r.rows.length} rows; ${statsLine(r.stats)}`)
      break
    }
    case 'files': {
      const r = await send({ method: 'GET', path: `/admin/files?collection=${encodeURIComponent(arg!)}` }) as {
        collection: string; manifestVersion: number; files: { key: string; minTime: number; maxTime: number }[]
      }
      const where = values.dir
        ? (key: string) => resolve(values.dir!, 'objects', key)
        : (key: string) => `r2://${values.bucket ?? '<bucket>'}/${key}`
      const paths = r.files.map(f => where(f.key))
      const duck = `SELECT * FROM read_parquet([${paths.map(p => `'${p.replace(/'/g, "''")}'`).join(', ')}])`
      show({ ...r, paths, duckdb: duck }, () => `${table(r.files.map(f => ({ ...f, minTime: time(f.minTime),
        maxTime: time(f.maxTime) })))}\n${r.files.length} live files of ${r.collection} (manifest `
        + `v${r.manifestVersion}). Read these, not a glob of the bucket: a glob also finds files already replaced `
        + 'and awaiting deletion, and counts their rows twice.\n\n'
        + (values.url && !values.bucket ? '-- pass --bucket <name> to fill in the R2 bucket\n' : '')
        + `${r.files.length ? duck : '-- no files yet: nothing is compacted'};\n`)
      break
    }
    case 'tail':
      await tail(send, values, from, out, opts.signal)
      break
  }
  return 0
}

function request(call: Call, token: string): RequestInit {
  return {
    method: call.method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
  }
}

/** The answer's JSON; a 4xx is refused as asked (exit 2), anything else failed (exit 1). */
async function answer(call: Call, pending: Promise<Response>): Promise<unknown> {
  const res = await pending
  const text = await res.text()
  if (!res.ok) {
    let message = text
    try { message = (JSON.parse(text) as { error?: string }).error ?? text } catch { /* not JSON */ }
    const status = res.statusText ? `${res.status} ${res.statusText}` : String(res.status)
    const full = `${status} from ${call.method} ${call.path}: ${message}`
    throw res.status >= 500 ? new Error(full) : new CliError(full)
  }
  return JSON.parse(text)
}

/** How far back each poll of `tail` looks again: events can arrive a while after they happened. */
const TAIL_WINDOW_MS = 120_000

async function tail(
  send: Send, values: Record<string, string | boolean | undefined>, from: Date | undefined,
  out: (s: string) => void, signal?: AbortSignal,
): Promise<void> {
  const interval = Number(values.interval ?? 2)
  if (!(interval > 0)) throw new CliError(`--interval must be a positive number of seconds, got ${values.interval}`)
  const search: Record<string, unknown> = {}
  for (const k of ['script', 'outcome', 'level', 'status'] as const) if (values[k]) search[k] = values[k]
  if (values.search) search.text = values.search
  const seen = new Map<string, number>()
  let since = (from ?? new Date(Date.now() - 5 * 60_000)).getTime()
  while (!signal?.aborted) {
    const r = await send({ method: 'POST', path: '/admin/events', body: { ...search, from: since, limit: 1000 } }) as {
      rows: Record<string, unknown>[]
    }
    for (const row of r.rows.reverse()) {
      const key = JSON.stringify(row)
      if (seen.has(key)) continue
      const t = Date.parse(row.eventTimestamp as string)
      seen.set(key, t)
      out(values.json ? `${JSON.stringify(row)}\n` : eventLine(row))
    }
    since = Math.max(since, Date.now() - TAIL_WINDOW_MS)
    for (const [k, t] of seen) if (t < since) seen.delete(k)
    await new Promise<void>(done => {
      const timer = setTimeout(done, interval * 1000)
      signal?.addEventListener('abort', () => { clearTimeout(timer); done() }, { once: true })
    })
  }
}

/** A request refused as asked (exit 2), as opposed to a failure to carry it out (exit 1). */
export function refused(e: unknown): boolean {
  return [CliError, SqlError, SchemaError, DBConfigError, ExprError, RangeError].some(c => e instanceof c)
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
      process.exit(refused(e) ? 2 : 1)
    },
  )
}
