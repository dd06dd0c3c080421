import { type LoadedManifest, collectionState } from '../manifest/index.js'
import { isDue } from '../mv/index.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'

/**
 * Makes scheduled views current when their schedule says a run was due since their last
 * refresh (or when `force` names them): their pending deltas become visible in one commit.
 */
export async function refreshDueViews(ctx: PassContext, loaded: LoadedManifest, force: readonly string[] = []): Promise<StepOutcome<string[]> | null> {
  const now = ctx.now()
  const m = loaded.manifest
  const due = ctx.views.filter(v => v.refresh.mode === 'scheduled' && (force.includes(v.name) || isDue(v.refresh.schedule, m.views?.[v.name]?.lastRefresh ?? null, now)))
  if (!due.length) return null
  const next = structuredClone(m)
  next.views ??= {}
  for (const v of due) {
    for (const f of collectionState(next, v.name).files) delete f.pending
    next.views[v.name] = { ...next.views[v.name], lastRefresh: now }
  }
  return { next, written: [], result: due.map(v => v.name) }
}
