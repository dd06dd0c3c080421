/**
 * The worker's admin endpoints, guarded by a bearer token kept in a secret:
 *   POST /admin/recompact  {"from"?, "to"?, "collections"?}  → rewrite partitions in a range
 *   POST /admin/compact                                     → run one pass now
 *   GET  /admin/status                                      → backlog, files, last pass
 *   POST /admin/sql        {"query": "SELECT ..."}          → { rows, scans }
 */
export interface AdminTarget {
  compact(): Promise<unknown>
  recompact(req: { from?: Date; to?: Date; collections?: string[] }): Promise<unknown>
  status(): Promise<unknown>
  /** Runs one SELECT (as written: the caller is the authenticated operator). */
  query(sql: string): Promise<unknown>
}

export async function handleAdmin(request: Request, token: string | undefined, target: AdminTarget): Promise<Response | null> {
  const url = new URL(request.url)
  if (!url.pathname.startsWith('/admin/')) return null
  if (!token) return json({ error: 'admin API disabled: set the PARQUEDB_ADMIN_TOKEN secret (wrangler secret put PARQUEDB_ADMIN_TOKEN)' }, 503)
  const auth = request.headers.get('authorization') ?? ''
  const given = auth.startsWith('Bearer ') ? auth.slice(7) : ''
  if (!(await constantTimeEqual(given, token))) {
    return json({ error: 'unauthorized: send Authorization: Bearer <PARQUEDB_ADMIN_TOKEN>' }, 401, { 'www-authenticate': 'Bearer' })
  }
  try {
    if (url.pathname === '/admin/status' && request.method === 'GET') return json(await target.status())
    if (url.pathname === '/admin/compact' && request.method === 'POST') return json(await target.compact())
    if (url.pathname === '/admin/sql' && request.method === 'POST') {
      let body: unknown
      try { body = await request.json() } catch { return json({ error: 'body must be JSON like {"query":"SELECT ..."}' }, 400) }
      const query = (body as { query?: unknown } | null)?.query
      if (typeof query !== 'string' || !query.trim()) return json({ error: 'body must be JSON like {"query":"SELECT ..."}' }, 400)
      return json(await target.query(query))
    }
    if (url.pathname === '/admin/recompact' && request.method === 'POST') {
      const body = await readBody(request)
      if (typeof body === 'string') return json({ error: body }, 400)
      return json(await target.recompact(body))
    }
  } catch (e) {
    const status = e instanceof RangeError || (e as Error).name === 'SqlError' ? 400 : 500
    return json({ error: (e as Error).message }, status)
  }
  return json({ error: `no admin route ${request.method} ${url.pathname}; try GET /admin/status, POST /admin/compact, POST /admin/recompact, POST /admin/sql` }, 404)
}

async function readBody(request: Request): Promise<{ from?: Date; to?: Date; collections?: string[] } | string> {
  const text = await request.text()
  if (!text.trim()) return {}
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return 'body must be JSON like {"from":"2024-01-15T00:00:00Z","to":"2024-01-16T00:00:00Z"}'
  }
  if (typeof raw !== 'object' || raw === null) return 'body must be a JSON object'
  const { from, to, collections } = raw as Record<string, unknown>
  const out: { from?: Date; to?: Date; collections?: string[] } = {}
  for (const [name, v] of [['from', from], ['to', to]] as const) {
    if (v === undefined) continue
    const d = new Date(v as string | number)
    if (Number.isNaN(d.getTime())) return `${name} is not a date: ${JSON.stringify(v)}`
    out[name] = d
  }
  if (collections !== undefined) {
    if (!Array.isArray(collections) || !collections.every(c => typeof c === 'string')) return 'collections must be an array of names'
    out.collections = collections
  }
  return out
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body, null, 2), { status, headers: { 'content-type': 'application/json', ...headers } })
}

/** Compares digests, so the time taken says nothing about where the strings differ or how long the token is. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder()
  const [da, db] = await Promise.all([crypto.subtle.digest('SHA-256', enc.encode(a)), crypto.subtle.digest('SHA-256', enc.encode(b))])
  const x = new Uint8Array(da)
  const y = new Uint8Array(db)
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!
  return diff === 0
}
