import {
  ErrorGrouper, type ErrorRow, OverviewBuilder, type OverviewRow, type ScanLike, dashboardResponse, eventFilter,
  queryStats,
} from '../dashboard/index.js'
import {
  AdminInputError, type EventsBody, type FindBody, type RangeBody, type RecompactBody, compactBody, eventsBody,
  findBody, rangeBody, recompactBody, sqlBody,
} from './admin_input.js'

/**
 * The worker's admin endpoints, guarded by a bearer token kept in a secret:
 *   GET  /                  the dashboard page (no data in it: it signs in with the token)
 *   GET  /admin/status                                      → backlog, files, last pass
 *   POST /admin/compact    no body, or {}                    → run one pass now
 *   POST /admin/recompact  {"from"?, "to"?, "collections"?}  → rewrite partitions in a range
 *   POST /admin/sql        {"query": "SELECT ..."}          → { rows, scans, stats }
 *   POST /admin/find       {"collection", "filter"?, ...}   → { rows, stats }
 *   POST /admin/overview   {"from"?, "to"?, "script"?}       → requests, errors, wall time per bucket and script
 *   POST /admin/errors     {"from"?, "to"?, "script"?}       → failures grouped by exception name and message
 *   POST /admin/events     {"from"?, "outcome"?, "text"?, …} → the newest matching tail events, { rows, stats }
 *   GET  /admin/files?collection=<name>                     → the live Parquet files, from the manifest
 * Bodies are checked against these shapes and limited in size (admin_input.ts): 400 or 413 with the reason.
 */
export interface AdminTarget {
  compact(): Promise<unknown>
  recompact(req: RecompactBody): Promise<unknown>
  status(): Promise<unknown>
  /** Runs one SELECT (as written: the caller is the authenticated operator). */
  query(sql: string): Promise<unknown>
  /** A find() on a collection or view by name; unknown names throw RangeError. */
  find(collection: string, filter: Record<string, unknown>, options: Partial<Omit<FindBody, 'collection' | 'filter'>>):
    AsyncIterable<Record<string, unknown>> & { stats: ScanLike | null }
  /** The live Parquet files of a collection or view; unknown names throw RangeError. */
  files(collection: string): Promise<unknown>
  /** The collection of tail events (`$ingest: 'tail'`) and whether the WorkerErrors view exists. */
  tailCollection: string | null
  errorsView: string | null
  now(): number
}

type Route = { method: string; run: (request: Request, target: AdminTarget) => Promise<unknown> }

const ROUTES: Record<string, Route> = {
  '/admin/status': { method: 'GET', run: (_, t) => t.status() },
  '/admin/compact': { method: 'POST', run: async (r, t) => { await compactBody(r); return t.compact() } },
  '/admin/recompact': { method: 'POST', run: async (r, t) => t.recompact(await recompactBody(r)) },
  '/admin/sql': { method: 'POST', run: async (r, t) => withStats(await t.query(await sqlBody(r))) },
  '/admin/find': { method: 'POST', run: async (r, t) => find(t, await findBody(r)) },
  '/admin/overview': {
    method: 'POST', run: async (r, t) => overview(t, await rangeBody(r, 'POST /admin/overview', t.now())),
  },
  '/admin/errors': {
    method: 'POST', run: async (r, t) => errors(t, await rangeBody(r, 'POST /admin/errors', t.now())),
  },
  '/admin/events': { method: 'POST', run: async (r, t) => events(t, await eventsBody(r, t.now())) },
  '/admin/files': {
    method: 'GET',
    run: async (r, t) => {
      const name = new URL(r.url).searchParams.get('collection')
      if (!name) throw new AdminInputError('GET /admin/files: name one: /admin/files?collection=TailEvents', 400)
      return t.files(name)
    },
  },
}

export async function handleAdmin(
  request: Request, token: string | undefined, target: AdminTarget,
): Promise<Response | null> {
  const page = dashboardResponse(request)
  if (page) return page
  const url = new URL(request.url)
  if (!url.pathname.startsWith('/admin/')) return null
  if (!token) {
    return json({ error: 'admin API disabled: set the PARQUEDB_ADMIN_TOKEN secret '
      + '(wrangler secret put PARQUEDB_ADMIN_TOKEN)' }, 503)
  }
  const auth = request.headers.get('authorization') ?? ''
  const given = auth.startsWith('Bearer ') ? auth.slice(7) : ''
  if (!(await constantTimeEqual(given, token))) {
    return json({ error: 'unauthorized: send Authorization: Bearer <PARQUEDB_ADMIN_TOKEN>' }, 401,
      { 'www-authenticate': 'Bearer' })
  }
  const route = Object.hasOwn(ROUTES, url.pathname) ? ROUTES[url.pathname] : undefined
  if (!route) {
    const all = Object.entries(ROUTES).map(([path, r]) => `${r.method} ${path}`).join(', ')
    return json({ error: `no admin route ${request.method} ${url.pathname}; try ${all}` }, 404)
  }
  if (request.method !== route.method) {
    return json({ error: `${url.pathname} takes ${route.method}, not ${request.method}` }, 405, { allow: route.method })
  }
  try {
    return json(await route.run(request, target))
  } catch (e) {
    if (e instanceof AdminInputError) return json({ error: e.message }, e.status)
    // Refusals of what was asked (a bad range, filter or query, a query past its limits) are the caller's to fix.
    const refused = e instanceof RangeError
      || ['SqlError', 'QueryLimitError', 'ExprError', 'EventQueryError'].includes((e as Error)?.name)
    const status = refused ? 400 : 500
    return json({ error: (e as Error).message }, status)
  }
}

/** A SQL answer with its scans summed into the stats the dashboard shows. */
export function withStats(result: unknown): unknown {
  const scans = (result as { scans?: { stats: ScanLike }[] }).scans
  return Array.isArray(scans) ? { ...(result as object), stats: queryStats(scans.map(s => s.stats)) } : result
}

export async function find(t: AdminTarget, body: FindBody): Promise<{ rows: unknown[]; stats: unknown }> {
  const { collection, filter, ...options } = body
  const q = t.find(collection, filter, options)
  const rows: Record<string, unknown>[] = []
  for await (const row of q) rows.push(row)
  return { rows, stats: queryStats(q.stats ? [q.stats] : []) }
}

/** The newest tail events matching a search: the Events page and `parquedb tail`. */
export async function events(t: AdminTarget, body: EventsBody): Promise<{ rows: unknown[]; stats: unknown }> {
  if (!t.tailCollection) throw new RangeError("POST /admin/events needs a collection with $ingest: 'tail'")
  const { limit, ...query } = body
  return find(t, { collection: t.tailCollection, filter: eventFilter(query), sort: { eventTimestamp: -1 }, limit })
}

/** A time bound on the events' own time, so only the range's hour partitions are read. */
function eventRange(range: RangeBody, field: string): Record<string, unknown> {
  return {
    [field]: { $gte: range.from, $lt: range.to },
    ...(range.script !== undefined ? { scriptName: range.script } : {}),
  }
}

async function overview(t: AdminTarget, range: RangeBody): Promise<unknown> {
  if (!t.tailCollection) throw new RangeError("POST /admin/overview needs a collection with $ingest: 'tail'")
  const built = new OverviewBuilder(range.from.getTime(), range.to.getTime())
  // Four narrow columns: the variant `event` (large) is not read.
  const q = t.find(t.tailCollection, eventRange(range, 'eventTimestamp'), {
    project: { scriptName: 1, outcome: 1, eventTimestamp: 1, wallTime: 1 },
  })
  for await (const row of q) built.add(row as unknown as OverviewRow)
  return { ...built.result(), stats: queryStats(q.stats ? [q.stats] : []) }
}

async function errors(t: AdminTarget, range: RangeBody): Promise<unknown> {
  const grouper = new ErrorGrouper()
  const scans: ScanLike[] = []
  if (t.errorsView) {
    const q = t.find(t.errorsView, eventRange(range, 'timestamp'), {})
    for await (const row of q) grouper.add(row as unknown as ErrorRow)
    if (q.stats) scans.push(q.stats)
  } else if (t.tailCollection) {
    const filter = { ...eventRange(range, 'eventTimestamp'),
      $or: [{ outcome: { $ne: 'ok' } }, { 'exceptions.0': { $exists: true } }] }
    const q = t.find(t.tailCollection, filter, {
      project: { scriptName: 1, outcome: 1, eventTimestamp: 1, exceptions: 1, event: 1 },
    })
    for await (const row of q) grouper.add(errorRowOf(row))
    if (q.stats) scans.push(q.stats)
  } else {
    throw new RangeError("POST /admin/errors needs a collection with $ingest: 'tail'")
  }
  return { ...grouper.result(), stats: queryStats(scans) }
}

/** A TailEvents row in the WorkerErrors view's shape (for stores without that view). */
function errorRowOf(row: Record<string, unknown>): ErrorRow {
  const ex = (row.exceptions as { name?: string; message?: string }[] | null)?.[0]
  const ev = row.event as { request?: { url?: string }; response?: { status?: number } } | null
  return {
    scriptName: row.scriptName as string | null, outcome: row.outcome as string | null,
    exceptionName: ex?.name ?? null, exceptionMessage: ex?.message ?? null,
    url: ev?.request?.url ?? null, status: ev?.response?.status ?? null, timestamp: row.eventTimestamp as Date,
  }
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const head = { 'content-type': 'application/json', ...headers }
  return new Response(JSON.stringify(body, null, 2), { status, headers: head })
}

/** Compares digests, so the time taken says nothing about where the strings differ or how long the token is. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder()
  const digest = (s: string) => crypto.subtle.digest('SHA-256', enc.encode(s))
  const [da, db] = await Promise.all([digest(a), digest(b)])
  const x = new Uint8Array(da)
  const y = new Uint8Array(db)
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!
  return diff === 0
}
