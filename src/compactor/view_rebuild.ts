import type { DataFile, LoadedManifest } from '../manifest/index.js'
import { chainTransform, mergeStateRows } from '../mv/index.js'
import { readFileRowGroups } from '../query/index.js'
import type { StoredRow } from '../schema/index.js'
import { mapLimit } from '../storage/index.js'
import type { StepOutcome } from './commit_step.js'
import { deleteKeys } from './concurrency.js'
import { type PassContext, retentionCutoff } from './pass_context.js'
import { pickViewRebuild } from './pickers.js'
import { writePartitioned } from './view_writer.js'

/**
 * Rebuilds one queued partition of a view (pickViewRebuild) from its root collection's stored
 * files, and swaps it in with one commit: the view's old files there become garbage (safe-gc).
 * Row views read one hour of the root; bucketed aggregates the bucket's hours; others all of it.
 */
export async function rebuildViewPartition(
  ctx: PassContext, loaded: LoadedManifest,
): Promise<StepOutcome<{ view: string; partition: string }> | null> {
  const pick = pickViewRebuild(loaded.manifest, ctx.views, name => retentionCutoff(ctx, name))
  if (!pick) return null
  const { view, partition, from, to } = pick
  const dequeue = { collection: view.name, done: [partition] }
  if (pick.skip) return { edit: { queue: [dequeue] }, written: [], result: { view: view.name, partition } }
  const root = ctx.collections.find(c => c.name === view.root)!
  const transform = chainTransform(view, ctx.views)
  // Sources are read together (one group of each at a time), derived rows kept in source order.
  const perSource = await mapLimit(pick.sources, ctx.options.concurrency, async file => {
    const out: StoredRow[] = []
    for await (const group of readFileRowGroups(ctx.bucket, root, file)) {
      const rows = group.filter(r => { const t = r[root.timeField] as number; return t >= from && t < to })
      out.push(...transform(rows))
    }
    return out
  })
  const derived = perSource.flat()
  const rows = view.aggregate ? mergeStateRows(view.aggregate, derived) : derived
  // Rebuilt files are visible at once: a rebuild replaces what readers already see.
  const written: DataFile[] = (await writePartitioned(ctx, view, rows, ctx.now(), 1)).map(({ pending: _, ...f }) => f)
  // A rebuild can only produce rows of its own partition; anything else would be a bug in the range math.
  const stray = written.filter(f => f.partition !== partition)
  if (stray.length) {
    await deleteKeys(ctx.bucket, written.map(f => f.key), ctx.options.concurrency)
    throw new Error(`rebuilding ${view.name} ${partition} produced rows for ${stray.map(f => f.partition).join(', ')}`)
  }
  return {
    edit: {
      collections: { [view.name]: { added: written, removed: pick.replaced.map(f => f.key) } },
      queue: [dequeue],
    },
    written: written.map(f => f.key),
    result: { view: view.name, partition },
  }
}
