import type { LoadedManifest } from '../manifest/index.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { viewPartitionsFor } from './view_rebuild.js'

/**
 * Notices views that are new to this store, or whose definition changed, and queues a
 * rebuild of all their partitions from the data already stored: a view added later covers
 * old data too (backfill). Until the rebuild finishes it shows what it has so far.
 * A view the schema no longer defines is marked dropped; its files go droppedViewGraceMs later.
 */
export async function registerViews(ctx: PassContext, loaded: LoadedManifest): Promise<StepOutcome<string[]> | null> {
  const m = loaded.manifest
  const now = ctx.now()
  const defined = new Set(ctx.views.map(v => v.name))
  // A dropped view got no deltas meanwhile: bringing it back rebuilds it rather than leave a gap.
  const changed = ctx.views.filter(v => m.views?.[v.name]?.definition !== v.definition || m.views[v.name]!.dropped !== undefined)
  const stored = Object.entries(m.views ?? {}).filter(([n]) => !defined.has(n))
  const gone = stored.filter(([, s]) => s.definition !== undefined && s.dropped === undefined).map(([n]) => n)
  const expired = stored.filter(([, s]) => s.dropped !== undefined && s.dropped + ctx.options.droppedViewGraceMs <= now).map(([n]) => n)
  if (!changed.length && !gone.length && !expired.length) return null
  const next = structuredClone(m)
  next.views ??= {}
  for (const n of gone) next.views[n] = { ...next.views[n]!, dropped: now }
  for (const n of expired) {
    next.garbage.push(...(next.collections[n]?.files ?? []).map(f => ({ key: f.key, since: now })))
    delete next.collections[n]
    delete next.views[n]
    next.recompact = next.recompact.filter(r => r.collection !== n)
  }
  for (const v of changed) {
    const before = next.views[v.name]?.definition
    const redefine = before !== undefined && before !== v.definition
    next.views[v.name] = { lastRefresh: next.views[v.name]?.lastRefresh ?? null, definition: v.definition }
    const parts = viewPartitionsFor(v, next, -Infinity, Infinity)
    if (!parts.length) continue
    const pending = next.recompact.find(r => r.collection === v.name)
    next.recompact = next.recompact.filter(r => r.collection !== v.name)
    next.recompact.push({ collection: v.name, partitions: parts, requestedAt: ctx.now(), ...(redefine || pending?.redefine ? { redefine: true } : {}) })
  }
  return { next, written: [], result: changed.map(v => v.name) }
}
