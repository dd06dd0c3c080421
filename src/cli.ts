#!/usr/bin/env node
/**
 * parquedb command-line tool: status, compact and recompact, against a deployed
 * tail worker's admin API (--url) or a local folder bucket (--dir).
 */
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { normalizePrefix } from './db/index.js'
import { DB, DBConfigError, type DBCore, ExprError, SchemaError, SqlError } from './index.js'
import { loadManifest } from './manifest/index.js'
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
        from: { type: 'string' }, to: { type: 'string' }, collections: { type: 'string' }, schema: { type: 'string' },
        force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.help || !command) { out(USAGE); return values.help ? 0 : 2 }
  if (!['status', 'compact', 'recompact', 'sql'].includes(command)) {
    throw new CliError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  }
  const query = positionals[1]
  if (command === 'sql' && !query) {
    throw new CliError(`sql needs a query: parquedb sql "SELECT ..." --dir <folder>\n\n${USAGE}`)
  }
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
    if (!res.ok) {
      const message = `${res.status} ${res.statusText} from ${path}: ${text}`
      throw res.status >= 500 ? new Error(message) : new CliError(message)
    }
    result = JSON.parse(text)
  } else {
    const schema: Schema = values.schema
      ? await loadSchema(values.schema)
      : { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests }
    const db = DB(schema, {
      storage: { type: 'fs', path: values.dir! }, ...(values.prefix ? { prefix: values.prefix } : {}),
    })
    if ((command === 'compact' || command === 'recompact') && !values.force) {
      await refuseForeignViews(db, schema, values.prefix)
    }
    if (command === 'status') result = await db.status()
    else if (command === 'compact') result = await db.compact()
    else if (command === 'sql') result = (await db.sql([query!] as unknown as TemplateStringsArray))
    else result = await db.recompact({
      ...(from ? { from } : {}), ...(to ? { to } : {}), ...(collections ? { collections } : {}),
    })
  }
  out(JSON.stringify(result, null, 2) + '\n')
  return 0
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
