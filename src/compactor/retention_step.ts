import type { CollectionEdit, LoadedManifest } from '../manifest/index.js'
import type { StepOutcome } from './commit_step.js'
import { type PassContext, retentionCutoff } from './pass_context.js'
import { pickExpired } from './pickers.js'

export interface RetentionResult {
  partitions: number
  files: number
}

/**
 * Drops the partitions that lie wholly before their collection's or view's retention cutoff
 * (pickExpired): their files leave the manifest for the garbage list, so readers of the previous
 * manifest keep working and GC deletes them after the grace period (safe-gc). Queued rewrites of
 * those partitions are dropped with them.
 */
export async function expirePartitions(
  ctx: PassContext, loaded: LoadedManifest,
): Promise<StepOutcome<RetentionResult> | null> {
  const cutoffs = Object.fromEntries(Object.keys(ctx.retention).map(name => [name, retentionCutoff(ctx, name)]))
  const expired = pickExpired(loaded.manifest, cutoffs, ctx.views)
  if (!expired.length) return null
  const collections: Record<string, CollectionEdit> = {}
  for (const e of expired) {
    // What is gone is recorded, not inferred from the options: a compactor configured
    // otherwise (the CLI, a changed setting) must still know the source cannot be replayed.
    collections[e.name] = { removed: e.files.map(f => f.key), expiredBefore: e.until }
  }
  return {
    edit: { collections, queue: expired.map(e => ({ collection: e.name, done: e.partitions })) },
    written: [],
    result: {
      partitions: expired.reduce((n, e) => n + e.partitions.length, 0),
      files: expired.reduce((n, e) => n + e.files.length, 0),
    },
  }
}
