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
  /** A recompact: this step finished its partition. */
  last: boolean
}

/** What to merge next: a partition and which of its files. */
export interface MergePick {
  partition: string
  files: DataFile[]
  /** A queued recompact: rewrite even a single file. */
  forced: boolean
  /** A queued recompact: this step finishes the partition. */
  last: boolean
}

/**
 * Picks the next merge of a collection, if any. Pending recompacts come first, rewriting the
 * partition's files maxMergeRows at a time. A quiet partition (past its hour plus
 * quietAfterMs) merges its small files (under half of maxMergeRows or maxRowsPerFile), oldest
 * first; an active one merges its small L0 files once there are maxL0Files of them. Each step
 * rewrites at most maxMergeRows rows, and a file of half that or more is not merged again, so
 * a busy hour costs bounded steps and each row is rewritten a bounded number of times
 * (tiered, not leveled).
 */
export function pickMerge(ctx: PassContext, loaded: LoadedManifest, collection: string, useQueue = true): MergePick | null {
  const m = loaded.manifest
  const all = m.collections[collection]?.files ?? []
  const cap = ctx.options.maxMergeRows
  const pending = useQueue && m.recompact.find(r => r.collection === collection && r.partitions.length)
  if (pending) {
    const partition = pending.partitions[0]!
    // A rewrite in several steps skips what it has already written.
    const done = new Set(pending.written ?? [])
    const stale = all.filter(f => f.partition === partition && !f.pending && !done.has(f.key))
    const files = upTo(cap, stale.sort(byMinTime), 1)
    return { partition, files, forced: true, last: files.length === stale.length }
  }
  const now = ctx.now()
  // A file this big is done: merging it again would only rewrite it (outputs split at maxRowsPerFile).
  const full = Math.min(cap, ctx.options.maxRowsPerFile) / 2
  // Merge outputs roll over at MERGE_FILE_BYTES: a file of half that is done too, or large rows
  // would be rewritten into the same files pass after pass.
  const fullBytes = MERGE_FILE_BYTES / 2
  // Partitions queued for a rebuild are about to be replaced; merging them first is wasted work.
  const queued = new Set(m.recompact.filter(r => r.collection === collection).flatMap(r => r.partitions))
  // A scheduled view's pending deltas wait for its refresh; they are not merged before.
  for (const [partition, files] of [...groupFiles(all.filter(f => !f.pending && !queued.has(f.partition)))].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const quiet = partitionRange(partition)[1] + ctx.options.quietAfterMs <= now
    const small = files.filter(f => f.rows < full && f.bytes < fullBytes && (quiet || f.level === 0)).sort(byMinTime)
    if (small.length >= (quiet ? 2 : ctx.options.maxL0Files)) {
      const pick = upTo(cap, small, 2)
      if (pick.length >= 2) return { partition, files: pick, forced: false, last: true }
    }
  }
  return null
}

function byMinTime(a: DataFile, b: DataFile): number {
  return a.minTime - b.minTime
}

/**
 * Inputs of one merge at most: memory holds one row group per input (at most rowGroupRows
 * rows and about ROW_GROUP_BYTES), so 16 of them stay inside 128 MB.
 */
const MAX_INPUTS = 16

/**
 * A merge's output file rolls over to the next at this many bytes (or maxRowsPerFile rows):
 * the file is built in memory before its upload, so it must stay a small part of 128 MB
 * whatever the rows' sizes (a merge of 1 MB rows used to write all of them into one buffer).
 */
export const MERGE_FILE_BYTES = 16 << 20

/** The leading files whose rows add up to at most `cap`, but at least `min` of them. */
function upTo(cap: number, files: DataFile[], min: number): DataFile[] {
  let rows = 0
  let n = 0
  while (n < files.length && n < MAX_INPUTS && (n < min || rows + files[n]!.rows <= cap)) rows += files[n++]!.rows
  return files.slice(0, n)
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
        maxFileBytes: MERGE_FILE_BYTES,
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
      if (r.collection !== schema.name) continue
      if (pick.last) {
        r.partitions = r.partitions.filter(p => p !== pick.partition)
        delete r.written
      } else {
        r.written = [...(r.written ?? []), ...outputs.map(f => f.key)]
      }
    }
    next.recompact = next.recompact.filter(r => r.partitions.length)
  }
  return {
    next,
    written: outputs.map(f => f.key),
    result: { partition: pick.partition, inputFiles: inputs.length, outputFiles: outputs.length, rows: outputs.reduce((n, f) => n + f.rows, 0), forced: pick.forced, last: pick.last },
  }
}
