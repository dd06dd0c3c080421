import { type LoadedManifest, partitionRange } from '../manifest/index.js'
import type { StepOutcome } from './commit_step.js'
import { type PassContext, retentionCutoff } from './pass_context.js'
import { rootRangeOf } from './view_rebuild.js'

export interface RetentionResult {
  partitions: number
  files: number
}

/**
 * Drops the partitions that lie wholly before their collection's or view's retention cutoff:
 * their files leave the manifest for the garbage list, so readers of the previous manifest keep
 * working and GC deletes them after the grace period (invariant 6). A view's partition holds
 * whole time buckets, so it goes only when its last bucket has ended before the cutoff.
 */
export async function expirePartitions(ctx: PassContext, loaded: LoadedManifest): Promise<StepOutcome<RetentionResult> | null> {
  const m = loaded.manifest
  const expired = new Map<string, { parts: Set<string>; until: number }>()
  for (const name of Object.keys(ctx.retention)) {
    const cutoff = retentionCutoff(ctx, name)
    const view = ctx.views.find(v => v.name === name)
    const end = (partition: string) => (view ? rootRangeOf(view, partition) : partitionRange(partition))[1]
    const ends = new Map((m.collections[name]?.files ?? []).map(f => [f.partition, end(f.partition)]))
    const parts = new Set([...ends].filter(([, e]) => e <= cutoff).map(([p]) => p))
    if (parts.size) expired.set(name, { parts, until: Math.max(...[...parts].map(p => ends.get(p)!)) })
  }
  if (!expired.size) return null
  const next = structuredClone(m)
  const since = ctx.now()
  let files = 0
  let partitions = 0
  for (const [name, { parts, until }] of expired) {
    const st = next.collections[name]!
    const gone = st.files.filter(f => parts.has(f.partition))
    // What is gone is recorded, not inferred from the options: a compactor configured
    // otherwise (the CLI, a changed setting) must still know the source cannot be replayed.
    st.expiredBefore = Math.max(st.expiredBefore ?? -Infinity, until)
    st.files = st.files.filter(f => !parts.has(f.partition))
    next.garbage.push(...gone.map(f => ({ key: f.key, since })))
    for (const r of next.recompact) if (r.collection === name) r.partitions = r.partitions.filter(p => !parts.has(p))
    files += gone.length
    partitions += parts.size
  }
  next.recompact = next.recompact.filter(r => r.partitions.length)
  return { next, written: [], result: { partitions, files } }
}
