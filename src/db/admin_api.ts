import { AdminInputError, type RecompactBody, compactBody, recompactBody, sqlBody } from './admin_input.js'

/**
 * The worker's admin endpoints, guarded by a bearer token kept in a secret:
 *   POST /admin/recompact  {"from"?, "to"?, "collections"?}  → rewrite partitions in a range
 *   POST /admin/compact    no body, or {}                    → run one pass now
 *   GET  /admin/status                                      → backlog, files, last pass
 *   POST /admin/sql        {"query": "SELECT ..."}          → { rows, scans }
 * Bodies are checked against these shapes and limited in size (admin_input.ts): 400 or 413 with the reason.
 */
export interface AdminTarget {
  compact(): Promise<unknown>
  recompact(req: RecompactBody): Promise<unknown>
  status(): Promise<unknown>
  /** Runs one SELECT (as written: the caller is the authenticated operator). */
  query(sql: string): Promise<unknown>
}

const ROUTES: Record<string, { method: string; run: (request: Request, target: AdminTarget) => Promise<unknown> }> = {
  '/admin/status': { method: 'GET', run: (_, t) => t.status() },
  '/admin/compact': { method: 'POST', run: async (r, t) => { await compactBody(r); return t.compact() } },
  '/admin/recompact': { method: 'POST', run: async (r, t) => t.recompact(await recompactBody(r)) },
  '/admin/sql': { method: 'POST', run: async (r, t) => t.query(await sqlBody(r)) },
}

export async function handleAdmin(
  request: Request, token: string | undefined, target: AdminTarget,
): Promise<Response | null> {
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
    return json({ error: `no admin route ${request.method} ${url.pathname}; try GET /admin/status, `
      + 'POST /admin/compact, POST /admin/recompact, POST /admin/sql' }, 404)
  }
  if (request.method !== route.method) {
    return json({ error: `${url.pathname} takes ${route.method}, not ${request.method}` }, 405, { allow: route.method })
  }
  try {
    return json(await route.run(request, target))
  } catch (e) {
    if (e instanceof AdminInputError) return json({ error: e.message }, e.status)
    // Refusals of what was asked (a bad range or query, a query past its limits) are the caller's to fix.
    const refused = e instanceof RangeError || ['SqlError', 'QueryLimitError'].includes((e as Error)?.name)
    const status = refused ? 400 : 500
    return json({ error: (e as Error).message }, status)
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
