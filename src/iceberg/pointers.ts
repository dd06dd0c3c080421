import type { PassContext } from '../compactor/index.js'
import type { Manifest } from '../manifest/index.js'
import { mapLimit, tableMetadataKey, versionHintKey } from '../storage/index.js'
import { type RestCatalogOptions, syncCatalog } from './rest_catalog.js'
import { renderMetadata } from './table_metadata.js'

/**
 * Writes what path-based readers follow for each published table: `v<N>.metadata.json`, then
 * `version-hint.text` naming N. Run after the publish commit and on every pass: a hint that is not N
 * (a pass died after its commit, or a slower compactor wrote an older N) is written again. The
 * metadata goes first, so a hint never names a version that is not stored (crash-safe). One GET per
 * table when all is current.
 */
export async function syncPointers(ctx: PassContext, m: Manifest, location: string): Promise<void> {
  const tables = Object.entries(m.tables ?? {})
  await mapLimit(tables, ctx.options.concurrency, async ([name, t]) => {
    const hint = await ctx.bucket.get(versionHintKey(ctx.prefix, name))
    if (hint && (await hint.text()).trim() === String(t.version)) return
    await ctx.bucket.put(tableMetadataKey(ctx.prefix, name, t.version), renderMetadata(t, location, ctx.prefix, name))
    await ctx.bucket.put(versionHintKey(ctx.prefix, name), String(t.version))
  })
}

/**
 * Commits each table's published state to a REST catalog, after the pointers (registration names the
 * metadata file). `synced` remembers, per isolate, the versions already committed, so a pass with
 * nothing new makes no catalog request. A failure is reported and retried on the next pass; it
 * never undoes the publish (the store's manifest is the source of truth).
 */
export async function syncCatalogs(
  ctx: PassContext, m: Manifest, location: string, catalog: RestCatalogOptions, synced: Map<string, number>,
): Promise<void> {
  const due = Object.entries(m.tables ?? {}).filter(([name, t]) => synced.get(name) !== t.version)
  await mapLimit(due, ctx.options.concurrency, async ([name, t]) => {
    try {
      await syncCatalog(catalog, location, ctx.prefix, name, t)
      synced.set(name, t.version)
    } catch (e) {
      console.warn(`parquedb: ${(e as Error)?.message ?? String(e)}`)
    }
  })
}
