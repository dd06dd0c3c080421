import type { LoadedManifest } from '../manifest/index.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { viewPartitionsFor } from './view_rebuild.js'

/**
 * Notices views that are new to this store, or whose definition changed, and queues a
 * rebuild of all their partitions from the data already stored: a view added later covers
 * old data too (backfill). Until the rebuild finishes it shows what it has so far.
 */
export async function registerViews(ctx: PassContext, loaded: LoadedManifest): Promise<StepOutcome<string[]> | null> {
  const m = loaded.manifest
  const changed = ctx.views.filter(v => m.views?.[v.name]?.definition !== v.definition)
  // A view this DB does not define gets no deltas from now on: forget its definition, so that
  // bringing it back rebuilds it rather than leaving a gap.
  const gone = Object.keys(m.views ?? {}).filter(n => m.views![n]!.definition !== undefined && !ctx.views.some(v => v.name === n))
  if (!changed.length && !gone.length) return null
  const next = structuredClone(m)
  next.views ??= {}
  for (const n of gone) delete next.views[n]
  for (const v of changed) {
    next.views[v.name] = { lastRefresh: next.views[v.name]?.lastRefresh ?? null, definition: v.definition }
    const parts = viewPartitionsFor(v, next, -Infinity, Infinity)
    if (!parts.length) continue
    next.recompact = next.recompact.filter(r => r.collection !== v.name)
    next.recompact.push({ collection: v.name, partitions: parts, requestedAt: ctx.now() })
  }
  return { next, written: [], result: changed.map(v => v.name) }
}
