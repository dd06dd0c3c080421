import type { Bucket } from '../../src/storage/index.js'

type Meta = Record<string, unknown> & {
  'table-uuid': string
  'current-snapshot-id': number | null
  snapshots: { 'snapshot-id': number; summary?: Record<string, string>; 'manifest-list': string }[]
  schemas: { 'schema-id': number }[]
  'current-schema-id': number
  refs: Record<string, { 'snapshot-id': number; type: string }>
}

/**
 * A small in-memory Iceberg REST catalog (the endpoints a publisher uses: config, namespaces,
 * register, load, commit with requirements), as `fetch`. Registration reads the metadata file from
 * the bucket, as a catalog reads it from storage. No real catalog is reachable offline.
 */
export function fakeRestCatalog(bucket: Bucket, location: string) {
  const tables = new Map<string, Meta>()
  const namespaces = new Set<string>()
  const requests: string[] = []
  const state = { conflictNext: false }
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status })
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input))
    const method = init?.method ?? 'GET'
    const path = url.pathname.replace(/^\/cat\/v1\//, '')
    requests.push(`${method} ${path}`)
    if ((init?.headers as Record<string, string>)?.authorization !== 'Bearer secret') return json({ error: 'auth' }, 401)
    const body = init?.body ? JSON.parse(String(init.body)) as Record<string, unknown> : {}
    if (path === 'config') return json({ overrides: { prefix: 'wh' } })
    if (method === 'POST' && path === 'wh/namespaces') {
      const ns = (body.namespace as string[]).join('.')
      if (namespaces.has(ns)) return json({ error: 'exists' }, 409)
      namespaces.add(ns)
      return json({ namespace: body.namespace })
    }
    const reg = /^wh\/namespaces\/([^/]+)\/register$/.exec(path)
    if (reg && method === 'POST') {
      const key = String(body['metadata-location']).slice(location.length + 1)
      const obj = await bucket.get(key)
      if (!obj) return json({ error: `no ${key}` }, 404)
      tables.set(`${reg[1]}.${String(body.name)}`, JSON.parse(await obj.text()) as Meta)
      return json({})
    }
    const tbl = /^wh\/namespaces\/([^/]+)\/tables\/([^/]+)$/.exec(path)
    if (!tbl) return json({ error: 'no route' }, 404)
    const id = `${tbl[1]}.${decodeURIComponent(tbl[2]!)}`
    const meta = tables.get(id)
    if (!meta) return json({ error: 'no table' }, 404)
    if (method === 'GET') return json({ metadata: meta })
    for (const r of body.requirements as Record<string, unknown>[]) {
      if (r.type === 'assert-table-uuid' && r.uuid !== meta['table-uuid']) return json({ error: 'uuid' }, 409)
      if (r.type === 'assert-ref-snapshot-id' && (meta.refs.main?.['snapshot-id'] ?? null) !== r['snapshot-id']) {
        return json({ error: 'ref moved' }, 409)
      }
    }
    if (state.conflictNext) { state.conflictNext = false; return json({ error: 'concurrent' }, 409) }
    for (const u of body.updates as Record<string, unknown>[]) {
      if (u.action === 'add-schema') meta.schemas.push(u.schema as Meta['schemas'][number])
      if (u.action === 'set-current-schema') meta['current-schema-id'] = u['schema-id'] as number
      if (u.action === 'add-snapshot') meta.snapshots.push(u.snapshot as Meta['snapshots'][number])
      if (u.action === 'set-snapshot-ref') {
        meta.refs.main = { 'snapshot-id': u['snapshot-id'] as number, type: 'branch' }
        meta['current-snapshot-id'] = u['snapshot-id'] as number
      }
      if (u.action === 'remove-snapshots') {
        const gone = new Set(u['snapshot-ids'] as number[])
        meta.snapshots = meta.snapshots.filter(s => !gone.has(s['snapshot-id']))
      }
    }
    return json({ metadata: meta })
  }
  return { fetch, tables, requests, state, uri: 'http://catalog.test/cat' }
}
