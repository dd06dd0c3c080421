import { type DataFile, type LoadedManifest, collectionState, partitionRange } from '../manifest/index.js'
import { readFileRowGroups } from '../query/index.js'
import { type ViewPlan, mergeStateRows } from '../mv/index.js'
import type { CollectionSchema, StoredRow } from '../schema/index.js'
import { writeDataFile } from './file_writer.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { mergeSorted, take } from './sorted_merge.js'

/** What is merged: a collection, or a view (whose partial aggregate states combine by group). */
export interface MergeTarget {
  schema: CollectionSchema
  aggregate?: ViewPlan['aggregate']
  view?: boolean
}

export interface MergeResult {
  partition: string
  inputFiles: number
  outputFiles: number
  rows: number
  forced: boolean
}

/** What to merge next: a partition and which of its files. */
export interface MergePick {
  partition: string
  files: DataFile[]
  /** A queued recompact: rewrite even a single file. */
  forced: boolean
}

/**
 * Picks the next merge of a collection, if any. Pending recompacts come first. A quiet
 * partition (past its hour plus quietAfterMs) is merged whole into as few files as it needs; an active
 * one only merges its L0 files once there are maxL0Files of them, leaving its L1 files
 * alone, so an hour's rows are rewritten a bounded number of times (tiered, not leveled).
 */
export function pickMerge(ctx: PassContext, loaded: LoadedManifest, collection: string, useQueue = true): MergePick | null {
  const m = loaded.manifest
  const all = m.collections[collection]?.files ?? []
  const pending = useQueue && m.recompact.find(r => r.collection === collection && r.partitions.length)
  if (pending) {
    const partition = pending.partitions[0]!
    return { partition, files: all.filter(f => f.partition === partition && !f.pending), forced: true }
  }
  const now = ctx.now()
  // Partitions queued for a rebuild are about to be replaced; merging them first is wasted work.
  const queued = new Set(m.recompact.filter(r => r.collection === collection).flatMap(r => r.partitions))
  // A scheduled view's pending deltas wait for its refresh; they are not merged before.
  for (const [partition, files] of [...groupFiles(all.filter(f => !f.pending && !queued.has(f.partition)))].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const quiet = partitionRange(partition)[1] + ctx.options.quietAfterMs <= now
    // A quiet hour is merged only while that can shrink it: a busy hour already split into
    // full L1 files (maxRowsPerFile each) would otherwise be rewritten on every pass.
    const rows = files.reduce((n, f) => n + f.rows, 0)
    const canShrink = files.some(f => f.level === 0) || files.length > Math.ceil(rows / ctx.options.maxRowsPerFile)
    if (quiet && files.length >= 2 && canShrink) return { partition, files, forced: false }
    const l0 = files.filter(f => f.level === 0)
    if (!quiet && l0.length >= ctx.options.maxL0Files) return { partition, files: l0, forced: false }
  }
  return null
}

function groupFiles(files: DataFile[]): Map<string, DataFile[]> {
  const out = new Map<string, DataFile[]>()
  for (const f of files) {
    let list = out.get(f.partition)
    if (!list) out.set(f.partition, (list = []))
    list.push(f)
  }
  return out
}

/**
 * Rewrites the picked files of one partition into L1 files: a streaming k-way merge by
 * time, so memory stays at one row group per input. The inputs move to the garbage
 * list and are deleted after the grace period; readers of the older manifest keep working.
 */
export async function mergePartition(ctx: PassContext, target: MergeTarget, loaded: LoadedManifest): Promise<StepOutcome<MergeResult> | null> {
  const schema = target.schema
  // A view's queued recompact is a rebuild from its source (view_rebuild.ts), not a merge.
  const pick = pickMerge(ctx, loaded, schema.name, !target.view)
  if (!pick) return null
  const inputs = pick.files
  const createdAt = ctx.now()
  const outputs: DataFile[] = []
  if (inputs.length && target.aggregate) {
    // Partial states: combine rows of the same group (one partition holds a bounded number of groups).
    const states: StoredRow[] = []
    for (const f of inputs) for await (const g of readFileRowGroups(ctx.bucket, schema, f)) states.push(...g)
    const merged = mergeStateRows(target.aggregate, states)
    const tf = schema.timeField
    merged.sort((a, b) => (a[tf] as number) - (b[tf] as number))
    const file = await writeDataFile(ctx.bucket, schema, merged, {
      prefix: ctx.prefix, collection: schema.name, partition: pick.partition, level: 1, createdAt, rowGroupRows: ctx.options.rowGroupRows,
    })
    if (file) outputs.push(file)
  } else if (inputs.length) {
    const merged = mergeSorted(inputs.map(f => readFileRowGroups(ctx.bucket, schema, f)), schema.timeField)
    const state = { done: false }
    while (!state.done) {
      const file = await writeDataFile(ctx.bucket, schema, take(merged, ctx.options.maxRowsPerFile, state), {
        prefix: ctx.prefix, collection: schema.name, partition: pick.partition, level: 1, createdAt, rowGroupRows: ctx.options.rowGroupRows,
      })
      if (file) outputs.push(file)
      else break
    }
  }
  const next = structuredClone(loaded.manifest)
  const st = collectionState(next, schema.name)
  const inputKeys = new Set(inputs.map(f => f.key))
  st.files = st.files.filter(f => !inputKeys.has(f.key)).concat(outputs)
  next.garbage.push(...inputs.map(f => ({ key: f.key, since: createdAt })))
  if (pick.forced) {
    for (const r of next.recompact) {
      if (r.collection === schema.name) r.partitions = r.partitions.filter(p => p !== pick.partition)
    }
    next.recompact = next.recompact.filter(r => r.partitions.length)
  }
  return {
    next,
    written: outputs.map(f => f.key),
    result: { partition: pick.partition, inputFiles: inputs.length, outputFiles: outputs.length, rows: outputs.reduce((n, f) => n + f.rows, 0), forced: pick.forced },
  }
}
