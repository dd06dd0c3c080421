/**
 * Reading and checking admin request bodies. Every body has a fixed shape, so anything else
 * (an array, a misspelt field, a date that is not one) is refused with the reason instead of
 * being read as "no options", which for recompact would mean "rewrite everything".
 */

import type { EventQuery } from '../dashboard/index.js'

/** Admin bodies are a few small fields; a body past this is refused before more of it is read. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024

/** A request the admin API refuses as sent: 400 (bad shape or value) or 413 (too large). */
export class AdminInputError extends Error {
  override name = 'AdminInputError'
  constructor(message: string, readonly status: 400 | 413) {
    super(message)
  }
}

export interface RecompactBody {
  from?: Date
  to?: Date
  collections?: string[]
}

const RECOMPACT_EXAMPLE = '{"from":"2024-01-15T00:00:00Z","to":"2024-01-16T00:00:00Z","collections":["TailEvents"]}'
const SQL_EXAMPLE = '{"query":"SELECT ..."}'
const FIND_EXAMPLE = '{"collection":"TailEvents","filter":{"outcome":"exception"},'
  + '"sort":{"eventTimestamp":-1},"limit":50}'
const RANGE_EXAMPLE = '{"from":"2024-01-15T09:00:00Z","to":"2024-01-15T10:00:00Z"}'

/** Rows one POST /admin/find answers with at most (its `limit`, 100 when left out). */
export const MAX_FIND_LIMIT = 10_000
/** The widest range the dashboard's overview and errors answer for: 31 days. */
export const MAX_RANGE_MS = 31 * 86_400_000

export interface FindBody {
  collection: string
  filter: Record<string, unknown>
  sort?: Record<string, 1 | -1>
  limit: number
  skip?: number
  project?: Record<string, 0 | 1>
}

export interface RangeBody {
  from: Date
  to: Date
  /** Only this script's events. */
  script?: string
}

/** POST /admin/compact: no body, or `{}`. */
export async function compactBody(request: Request): Promise<void> {
  await objectBody(request, 'POST /admin/compact', [], 'no body, or {}')
}

/** POST /admin/sql: `{"query": "SELECT ..."}` and nothing else. */
export async function sqlBody(request: Request): Promise<string> {
  const body = await objectBody(request, 'POST /admin/sql', ['query'], SQL_EXAMPLE)
  const query = body.query
  if (typeof query !== 'string' || !query.trim()) {
    throw new AdminInputError(`POST /admin/sql: "query" must be a non-empty SQL string; send ${SQL_EXAMPLE}`, 400)
  }
  return query
}

/**
 * POST /admin/find: `{"collection", "filter"?, "sort"?, "limit"?, "skip"?, "project"?}`. JSON has no
 * dates, so `{"$date": "2024-01-15T09:00:00Z"}` (or epoch ms) inside the filter stands for one.
 */
export async function findBody(request: Request): Promise<FindBody> {
  const route = 'POST /admin/find'
  const body = await objectBody(request, route, ['collection', 'filter', 'sort', 'limit', 'skip', 'project'],
    FIND_EXAMPLE)
  if (typeof body.collection !== 'string' || !body.collection) {
    throw new AdminInputError(`${route}: "collection" must name a collection or view; send ${FIND_EXAMPLE}`, 400)
  }
  const object = (name: string, v: unknown) => {
    if (v === undefined) return undefined
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new AdminInputError(`${route}: "${name}" must be a JSON object, got ${preview(v)}`, 400)
    }
    return v as Record<string, unknown>
  }
  const count = (name: string, v: unknown, max: number) => {
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw new AdminInputError(`${route}: "${name}" must be an integer from 0 to ${max}, got ${preview(v)}`, 400)
    }
    return v
  }
  const out: FindBody = {
    collection: body.collection,
    filter: revive(route, object('filter', body.filter) ?? {}, 0) as Record<string, unknown>,
    limit: count('limit', body.limit, MAX_FIND_LIMIT) ?? 100,
  }
  const sort = object('sort', body.sort)
  if (sort) out.sort = sort as FindBody['sort']
  const skip = count('skip', body.skip, Number.MAX_SAFE_INTEGER)
  if (skip !== undefined) out.skip = skip
  const project = object('project', body.project)
  if (project) out.project = project as FindBody['project']
  return out
}

/** POST /admin/overview and /admin/errors: `{"from"?, "to"?, "script"?}`; the last hour by default. */
export async function rangeBody(request: Request, route: string, now: number): Promise<RangeBody> {
  const body = await objectBody(request, route, ['from', 'to', 'script'], RANGE_EXAMPLE)
  const to = body.to === undefined ? new Date(now) : adminDate(route, 'to', body.to)
  const from = body.from === undefined ? new Date(to.getTime() - 3_600_000) : adminDate(route, 'from', body.from)
  if (from >= to) throw new AdminInputError(`${route}: from must be before to; send ${RANGE_EXAMPLE}`, 400)
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) {
    throw new AdminInputError(`${route}: the range is over 31 days; ask for a shorter one`, 400)
  }
  const out: RangeBody = { from, to }
  if (body.script !== undefined) {
    if (typeof body.script !== 'string') throw new AdminInputError(`${route}: "script" must be a string`, 400)
    out.script = body.script
  }
  return out
}

/** As deep as find() compiles a filter (the nesting limit of expr). */
const MAX_FILTER_DEPTH = 100

/** An events search (the dashboard's, shared with `parquedb tail`) and how many of the newest to answer. */
export type EventsBody = EventQuery & { limit: number }

const EVENTS_EXAMPLE = '{"from":"2024-01-15T09:00:00Z","outcome":"exception","text":"timeout","limit":100}'

/**
 * POST /admin/events: `{"from"?, "to"?, "script"?, "outcome"?, "level"?, "status"?, "text"?, "limit"?}`,
 * the newest events first; from is an hour back by default, and no `to` means up to now and beyond.
 */
export async function eventsBody(request: Request, now: number): Promise<EventsBody> {
  const route = 'POST /admin/events'
  const fields = ['from', 'to', 'script', 'outcome', 'level', 'status', 'text', 'limit'] as const
  const body = await objectBody(request, route, fields, EVENTS_EXAMPLE)
  const out: EventsBody = {
    from: body.from === undefined ? new Date(now - 3_600_000) : adminDate(route, 'from', body.from),
    limit: 100,
  }
  if (body.to !== undefined) out.to = adminDate(route, 'to', body.to)
  if (out.to && out.from >= out.to) throw new AdminInputError(`${route}: from must be before to`, 400)
  for (const k of ['script', 'outcome', 'level', 'status', 'text'] as const) {
    const v = body[k]
    if (v === undefined) continue
    if (typeof v !== 'string') throw new AdminInputError(`${route}: "${k}" must be a string, got ${preview(v)}`, 400)
    out[k] = v
  }
  if (body.limit !== undefined) {
    const v = body.limit
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_FIND_LIMIT) {
      throw new AdminInputError(`${route}: "limit" must be an integer from 0 to ${MAX_FIND_LIMIT}, got ${preview(v)}`,
        400)
    }
    out.limit = v
  }
  return out
}

/** JSON with `{"$date": ...}` objects turned into Dates, anywhere in a filter. */
function revive(route: string, v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return v
  if (depth > MAX_FILTER_DEPTH) {
    throw new AdminInputError(`${route}: the filter nests deeper than ${MAX_FILTER_DEPTH} levels`, 400)
  }
  if (Array.isArray(v)) return v.map(x => revive(route, x, depth + 1))
  const keys = Object.keys(v)
  if (keys.length === 1 && keys[0] === '$date') return adminDate(route, '$date', (v as { $date: unknown }).$date)
  return Object.fromEntries(keys.map(k => [k, revive(route, (v as Record<string, unknown>)[k], depth + 1)]))
}

/** POST /admin/recompact: `{"from"?, "to"?, "collections"?}`; no body or `{}` means every partition. */
export async function recompactBody(request: Request): Promise<RecompactBody> {
  const route = 'POST /admin/recompact'
  const body = await objectBody(request, route, ['from', 'to', 'collections'], RECOMPACT_EXAMPLE)
  const out: RecompactBody = {}
  if (body.from !== undefined) out.from = adminDate(route, 'from', body.from)
  if (body.to !== undefined) out.to = adminDate(route, 'to', body.to)
  if (body.collections !== undefined) {
    const c = body.collections
    if (!Array.isArray(c) || !c.length || !c.every(n => typeof n === 'string' && n !== '')) {
      throw new AdminInputError(`${route}: collections must be a non-empty array of collection or view names `
        + `like ["TailEvents"], got ${preview(c)}; leave it out to recompact every collection`, 400)
    }
    out.collections = c as string[]
  }
  return out
}

/** The body as a JSON object holding only `allowed` fields; an empty body is `{}`. */
async function objectBody(
  request: Request, route: string, allowed: readonly string[], example: string,
): Promise<Record<string, unknown>> {
  const text = await readText(request, route)
  if (!text.trim()) return {}
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new AdminInputError(`${route}: the body is not JSON (${(e as Error).message}); send ${example}`, 400)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const kind = raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`
    throw new AdminInputError(`${route}: the body must be a JSON object like ${example}, got ${kind}`, 400)
  }
  const unknown = Object.keys(raw).filter(k => !allowed.includes(k))
  if (unknown.length) {
    const fields = allowed.length ? `allowed fields: ${allowed.join(', ')}` : 'it takes no fields'
    throw new AdminInputError(`${route}: unknown field${unknown.length > 1 ? 's' : ''} `
      + `${unknown.map(k => JSON.stringify(k)).join(', ')}; ${fields}`, 400)
  }
  return raw as Record<string, unknown>
}

/**
 * The body as UTF-8 text, at most MAX_ADMIN_BODY_BYTES. A declared Content-Length over the limit is
 * refused unread; otherwise bytes are counted as they arrive and the stream is cancelled past the limit.
 */
async function readText(request: Request, route: string): Promise<string> {
  const tooLarge = (size: string) => new AdminInputError(`${route}: the body is ${size}; admin bodies are at most `
    + `${MAX_ADMIN_BODY_BYTES} bytes (64 KiB), and a valid one needs a few hundred`, 413)
  const declared = request.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > MAX_ADMIN_BODY_BYTES) {
    throw tooLarge(`${declared.trim()} bytes (Content-Length)`)
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_ADMIN_BODY_BYTES) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(`over ${MAX_ADMIN_BODY_BYTES} bytes (stopped reading at ${size})`)
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let at = 0
  for (const c of chunks) { bytes.set(c, at); at += c.byteLength }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new AdminInputError(`${route}: the body is not UTF-8 text; send JSON`, 400)
  }
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/
/** ±100,000,000 days around 1970: the range a JavaScript Date can hold. */
const MAX_EPOCH_MS = 8.64e15

/**
 * An ISO 8601 date or date-time, or integer epoch milliseconds. Strict where `new Date()` guesses:
 * "1" (the year 2001) and "2024-02-30" (1 March) are refused; a time without a zone is UTC.
 */
export function adminDate(route: string, name: string, v: unknown): Date {
  const refuse = () => new AdminInputError(`${route}: ${name} is not a date: ${preview(v)}; write an ISO 8601 date `
    + 'like "2024-01-15" or "2024-01-15T09:00:00Z", or epoch milliseconds as a number', 400)
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) > MAX_EPOCH_MS) throw refuse()
    return new Date(v)
  }
  if (typeof v !== 'string') throw refuse()
  const m = ISO_DATE.exec(v)
  if (!m) throw refuse()
  const [, y, mo, d, h = '0', mi = '0', s = '0', zone] = m
  const day = new Date(0)
  day.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  if (day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) throw refuse()
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw refuse()
  const date = new Date(m[4] !== undefined && zone === undefined ? `${v}Z` : v)
  if (Number.isNaN(date.getTime())) throw refuse()
  return date
}

/** A value as JSON, cut short: error messages quote what was sent without echoing a large body. */
function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 80 ? `${s.slice(0, 80)}…` : s
}
