import type { PublishedTable } from '../manifest/index.js'
import { tableMetadataKey } from '../storage/index.js'
import { PUBLISHED_MARK, tableLocation } from './table_metadata.js'

/** An Iceberg REST catalog to commit each snapshot through (R2 Data Catalog, Polaris, Nessie …). */
export interface RestCatalogOptions {
  /** The catalog's URI, e.g. R2 Data Catalog's `https://catalog.cloudflarestorage.com/<account>/<bucket>`. */
  uri: string
  warehouse: string
  /** A bearer token (an R2 API token with R2 Data Catalog write permission); pass it from a secret. */
  token: string
  /** The namespace the tables go in. Default 'parquedb'. */
  namespace?: string
  /** fetch, for tests and proxies. Default globalThis.fetch. */
  fetch?: typeof fetch
}

export class CatalogError extends Error {
  override name = 'CatalogError'
}

interface LoadedTable {
  'metadata-location'?: string
  metadata: {
    'table-uuid': string
    'current-snapshot-id'?: number | null
    snapshots?: { 'snapshot-id': number; summary?: Record<string, string> }[]
    schemas?: { 'schema-id': number }[]
    'current-schema-id'?: number
  }
}

/**
 * Brings the catalog's table to the published state: registers it on first sight (with the metadata
 * file path-based readers use), else one conditional commit — the table's uuid and the `main` branch's
 * snapshot as the catalog had it — adding the snapshots and schemas it lacks, moving `main` and
 * removing the snapshots the store no longer retains. A catalog whose table holds a snapshot the
 * store did not publish, or has another uuid, was written by someone else: nothing is committed.
 */
export async function syncCatalog(
  c: RestCatalogOptions, location: string, prefix: string, name: string, t: PublishedTable,
): Promise<'registered' | 'committed' | 'current'> {
  const f = c.fetch ?? fetch
  const ns = c.namespace ?? 'parquedb'
  const call = async (method: string, path: string, body?: unknown, ok: number[] = [200]) => {
    const res = await f(`${c.uri.replace(/\/+$/, '')}/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!ok.includes(res.status)) {
      const text = (await res.text()).slice(0, 300)
      throw new CatalogError(`iceberg catalog: ${method} ${path} answered ${res.status}: ${text}`)
    }
    return res
  }
  const config = (await (await call('GET', `config?warehouse=${encodeURIComponent(c.warehouse)}`)).json()) as
    { overrides?: Record<string, string>; defaults?: Record<string, string> }
  const pre = config.overrides?.prefix ?? config.defaults?.prefix
  const base = `${pre ? `${encodeURIComponent(pre)}/` : ''}namespaces/${encodeURIComponent(ns)}`
  const tablePath = `${base}/tables/${encodeURIComponent(name)}`
  const current = t.snapshots.at(-1)
  const loaded = await call('GET', tablePath, undefined, [200, 404])
  if (loaded.status === 404) {
    await call('POST', pre ? `${encodeURIComponent(pre)}/namespaces` : 'namespaces', { namespace: [ns] }, [200, 409])
    const metadataLocation = `${location}/${tableMetadataKey(prefix, name, t.version)}`
    await call('POST', `${base}/register`, { name, 'metadata-location': metadataLocation })
    return 'registered'
  }
  const theirs = ((await loaded.json()) as LoadedTable).metadata
  if (theirs['table-uuid'] !== t.uuid) {
    throw new CatalogError(`iceberg catalog: ${ns}.${name} is another table (uuid ${theirs['table-uuid']}, ` +
      `published ${t.uuid}); drop it from the catalog (without purging files) to let parquedb register its own`)
  }
  const ours = new Set(t.snapshots.map(s => s.id))
  const known = new Set((theirs.snapshots ?? []).map(s => s['snapshot-id']))
  const head = theirs['current-snapshot-id'] ?? null
  const headSnapshot = theirs.snapshots?.find(s => s['snapshot-id'] === head)
  if (headSnapshot && headSnapshot.summary?.[PUBLISHED_MARK] !== 'true') {
    throw new CatalogError(`iceberg catalog: ${ns}.${name}'s current snapshot ${head} was not published by ` +
      'parquedb: another writer commits to this table, which is read-only for other engines; nothing was committed')
  }
  const sameSnapshots = known.size === ours.size && [...ours].every(id => known.has(id))
  if (head === (current?.id ?? null) && theirs['current-schema-id'] === t.currentSchemaId && sameSnapshots) {
    return 'current'
  }
  const theirSchemas = new Set((theirs.schemas ?? []).map(s => s['schema-id']))
  const updates: unknown[] = []
  for (const s of t.schemas) {
    if (theirSchemas.has(Number(s['schema-id']))) continue
    updates.push({ action: 'add-schema', schema: s, 'last-column-id': t.lastColumnId })
  }
  if (theirs['current-schema-id'] !== t.currentSchemaId) {
    updates.push({ action: 'set-current-schema', 'schema-id': t.currentSchemaId })
  }
  for (const s of t.snapshots) {
    if (known.has(s.id)) continue
    updates.push({
      action: 'add-snapshot',
      snapshot: {
        'snapshot-id': s.id, ...(s.parentId !== undefined ? { 'parent-snapshot-id': s.parentId } : {}),
        'sequence-number': s.sequence, 'timestamp-ms': s.at, 'manifest-list': `${location}/${s.manifestList}`,
        summary: s.summary, 'schema-id': s.schemaId,
      },
    })
  }
  if (current) {
    updates.push({ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': current.id })
  }
  const gone = [...known].filter(id => !ours.has(id))
  if (gone.length) updates.push({ action: 'remove-snapshots', 'snapshot-ids': gone })
  updates.push({ action: 'set-location', location: tableLocation(location, prefix, name) })
  const requirements = [
    { type: 'assert-table-uuid', uuid: t.uuid },
    { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': head === -1 ? null : head },
  ]
  const res = await call('POST', tablePath, { requirements, updates }, [200, 409])
  if (res.status === 409) {
    throw new CatalogError(`iceberg catalog: ${ns}.${name} changed while parquedb committed to it ` +
      `(${(await res.text()).slice(0, 200)}); the next pass tries again from the catalog's new state`)
  }
  return 'committed'
}
