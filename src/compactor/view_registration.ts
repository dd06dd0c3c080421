import type { CollectionEdit, LoadedManifest, QueueEdit, ViewState } from '../manifest/index.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { viewPartitionsFor } from './pickers.js'

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
  const changed = ctx.views.filter(v => m.views?.[v.name]?.definition !== v.definition ||
    m.views[v.name]!.dropped !== undefined)
  const stored = Object.entries(m.views ?? {}).filter(([n]) => !defined.has(n))
  const gone = stored.filter(([, s]) => s.definition !== undefined && s.dropped === undefined)
  const expired = stored
    .filter(([, s]) => s.dropped !== undefined && s.dropped + ctx.options.droppedViewGraceMs <= now).map(([n]) => n)
  if (!changed.length && !gone.length && !expired.length) return null
  const views: Record<string, ViewState | null> = {}
  const collections: Record<string, CollectionEdit> = {}
  const queue: QueueEdit[] = []
  for (const [n, s] of gone) views[n] = { ...s, dropped: now }
  for (const n of expired) {
    // Its files go to garbage and its queue entry with it (applyEdit).
    collections[n] = { drop: true }
    views[n] = null
  }
  for (const v of changed) {
    const before = m.views?.[v.name]
    const redefine = before?.definition !== undefined && before.definition !== v.definition
    views[v.name] = { lastRefresh: before?.lastRefresh ?? null, definition: v.definition }
    const parts = viewPartitionsFor(v, m, -Infinity, Infinity)
    if (!parts.length) continue
    const pending = m.recompact.find(r => r.collection === v.name)
    const keepRedefine = redefine || pending?.redefine
    queue.push({ collection: v.name, added: parts, replace: true, ...(keepRedefine ? { redefine: true } : {}) })
  }
  return { edit: { collections, views, queue }, written: [], result: changed.map(v => v.name) }
}
