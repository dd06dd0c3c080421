import { type DataFile, type LoadedManifest, type Manifest, collectionState, partitionOf, partitionRange } from '../manifest/index.js'
import { type ViewPlan, bucketEnd, bucketStart, chainTransform, mergeStateRows } from '../mv/index.js'
import { readFileRowGroups } from '../query/index.js'
import type { StoredRow } from '../schema/index.js'
import type { StepOutcome } from './commit_step.js'
import { type PassContext, retentionCutoff } from './pass_context.js'
import { writePartitioned } from './view_writer.js'

/** The root-time range [from, to) whose rows feed one partition of a view. */
export function rootRangeOf(view: ViewPlan, partition: string): [number, number] {
  const [start, end] = partitionRange(partition)
  if (!view.aggregate) return [start, end]
  const unit = view.aggregate.keys.find(k => k.bucket)?.bucket
  if (!unit) return [-Infinity, Infinity]
  // Buckets of an hour or less tile the partition; longer ones start at it and run past it.
  const first = bucketStart(unit, start)
  return [Math.min(first, start), Math.max(bucketEnd(unit, first), end)]
}

/**
 * The view partitions to rebuild for root rows in [from, to): those the root's stored
 * files or the view's own files touch in the range (no listing of empty hours).
 */
export function viewPartitionsFor(view: ViewPlan, m: Manifest, from: number, to: number): string[] {
  const out = new Set<string>()
  const agg = view.aggregate
  const unit = agg?.keys.find(k => k.bucket)?.bucket
  if (agg && !unit) return [partitionOf(0)]
  const touch = (t0: number, t1: number) => t1 > from && t0 < to
  for (const f of m.collections[view.root]?.files ?? []) {
    const [a, b] = partitionRange(f.partition)
    if (!touch(a, b)) continue
    out.add(unit ? partitionOf(bucketStart(unit, a)) : f.partition)
  }
  for (const f of m.collections[view.name]?.files ?? []) {
    const [a, b] = rootRangeOf(view, f.partition)
    if (touch(a, b)) out.add(f.partition)
  }
  return [...out].sort()
}

/**
 * Rebuilds one queued partition of a view from its root collection's stored files, and
 * swaps it in with one commit: the view's old files there become garbage. Row views read
 * one hour of the root; bucketed aggregates the bucket's hours; others all of it.
 */
export async function rebuildViewPartition(ctx: PassContext, loaded: LoadedManifest): Promise<StepOutcome<{ view: string; partition: string }> | null> {
  const m = loaded.manifest
  const entry = m.recompact.find(r => r.partitions.length && ctx.views.some(v => v.name === r.collection))
  if (!entry) return null
  const view = ctx.views.find(v => v.name === entry.collection)!
  const root = ctx.collections.find(c => c.name === view.root)!
  const partition = entry.partitions[0]!
  const [from, to] = rootRangeOf(view, partition)
  const next = structuredClone(m)
  const dequeue = () => {
    for (const r of next.recompact) if (r.collection === entry.collection) r.partitions = r.partitions.filter(p => p !== partition)
    next.recompact = next.recompact.filter(r => r.partitions.length)
  }
  // Rows the source no longer keeps cannot be recomputed: a view kept longer than its
  // source keeps what it stored there rather than losing it to a partial rebuild, unless
  // its definition changed (old rows never pass for new ones). A partition past the view's
  // own retention is not worth building.
  const st = collectionState(next, view.name)
  const kept = st.files.some(f => f.partition === partition)
  const sourceGone = from < (m.collections[root.name]?.expiredBefore ?? -Infinity)
  if ((sourceGone && kept && !entry.redefine) || to <= retentionCutoff(ctx, view.name)) {
    dequeue()
    return { next, written: [], result: { view: view.name, partition } }
  }
  const transform = chainTransform(view, ctx.views)
  const sources = (m.collections[root.name]?.files ?? [])
    .filter(f => { const [a, b] = partitionRange(f.partition); return b > from && a < to })
  const derived: StoredRow[] = []
  for (const file of sources) {
    for await (const group of readFileRowGroups(ctx.bucket, root, file)) {
      const rows = group.filter(r => { const t = r[root.timeField] as number; return t >= from && t < to })
      derived.push(...transform(rows))
    }
  }
  const rows = view.aggregate ? mergeStateRows(view.aggregate, derived) : derived
  const createdAt = ctx.now()
  const written: DataFile[] = (await writePartitioned(ctx, view, rows, createdAt, 1)).map(f => ({ ...f, pending: false }))
  for (const f of written) delete f.pending
  const replaced = st.files.filter(f => f.partition === partition)
  st.files = st.files.filter(f => f.partition !== partition).concat(written.filter(f => f.partition === partition))
  // A rebuild can only produce rows of its own partition; anything else would be a bug in the range math.
  const stray = written.filter(f => f.partition !== partition)
  if (stray.length) throw new Error(`rebuilding ${view.name} ${partition} produced rows for ${stray.map(f => f.partition).join(', ')}`)
  next.garbage.push(...replaced.map(f => ({ key: f.key, since: createdAt })))
  dequeue()
  return { next, written: written.map(f => f.key), result: { view: view.name, partition } }
}
