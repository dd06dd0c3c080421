import type { CollectionEdit, LoadedManifest, ViewState } from '../manifest/index.js'
import { isDue } from '../mv/index.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'

/**
 * Makes scheduled views current when their schedule says a run was due since their last
 * refresh (or when `force` names them): their pending deltas become visible in one commit.
 */
export async function refreshDueViews(
  ctx: PassContext, loaded: LoadedManifest, force: readonly string[] = [],
): Promise<StepOutcome<string[]> | null> {
  const now = ctx.now()
  const m = loaded.manifest
  const due = ctx.views.filter(v => v.refresh.mode === 'scheduled' &&
    (force.includes(v.name) || isDue(v.refresh.schedule, m.views?.[v.name]?.lastRefresh ?? null, now)))
  if (!due.length) return null
  const collections: Record<string, CollectionEdit> = {}
  const views: Record<string, ViewState> = {}
  for (const v of due) {
    collections[v.name] = { published: (m.collections[v.name]?.files ?? []).filter(f => f.pending).map(f => f.key) }
    views[v.name] = { ...m.views?.[v.name], lastRefresh: now }
  }
  return { edit: { collections, views }, written: [], result: due.map(v => v.name) }
}
