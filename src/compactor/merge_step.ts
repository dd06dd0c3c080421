import type { DataFile, LoadedManifest, QueueEdit } from '../manifest/index.js'
import { readFileRowGroups } from '../query/index.js'
import { type ViewPlan, mergeStateRows, stateFileMetadata, stateRowDecoder } from '../mv/index.js'
import type { CollectionSchema, StoredRow } from '../schema/index.js'
import { mapLimit, mapWeighted } from '../storage/index.js'
import { writeDataFile } from './file_writer.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { MAX_MERGE_INPUTS, MERGE_FILE_BYTES, type MergePick, pickMerge, pickMergeBatch } from './pickers.js'
import { mergeSorted, take } from './sorted_merge.js'

/** What is merged: a collection, or a view (whose partial aggregate states combine by group). */
export interface MergeTarget {
  schema: CollectionSchema
  aggregate?: ViewPlan['aggregate']
  view?: boolean
}

export interface MergeResult {
  /** The partitions this step merged (several hours in one step; a recompact one). */
  partitions: string[]
  inputFiles: number
  outputFiles: number
  rows: number
  forced: boolean
  /** A recompact: this step finished its partition. */
  last: boolean
}

/**
 * Rewrites the picked files of one or more partitions into L1 files: per partition a streaming
 * k-way merge by time, so memory stays at one row group per input; two partitions are merged at
 * once, so one's uploads overlap the other's reads and CPU, and the merges running together have
 * at most MAX_MERGE_INPUTS inputs open, however many partitions the step takes
 * (bounded-work). The edit removes the inputs, which applyEdit sends to garbage:
 * readers of the older manifest keep working (safe-gc). One commit for the step (crash-safe).
 */
export async function mergePartition(
  ctx: PassContext, target: MergeTarget, loaded: LoadedManifest,
): Promise<StepOutcome<MergeResult> | null> {
  const schema = target.schema
  // A view's queued recompact is a rebuild from its source (view_rebuild.ts), not a merge.
  const useQueue = !target.view
  const picks = target.aggregate
    ? [pickMerge(loaded.manifest, schema.name, ctx.options, ctx.now(), useQueue)].filter(p => p !== null)
    : pickMergeBatch(loaded.manifest, schema.name, ctx.options, ctx.now(), useQueue)
  if (!picks.length) return null
  const createdAt = ctx.now()
  // The step's requests in flight stay within `concurrency`: the merges share it.
  const limit = Math.min(MERGES_AT_ONCE, ctx.options.concurrency, picks.length)
  const each = Math.max(1, Math.floor(ctx.options.concurrency / limit))
  const perPick = await mapWeighted(picks, limit, 1, mergeWeight, pick => mergeOne(ctx, target, pick, createdAt, each))
  const outputs = perPick.flat()
  const inputs = picks.flatMap(p => p.files)
  const pick = picks[0]!
  // A rewrite in several steps records what it wrote, so its next step skips those files.
  const queue: QueueEdit[] = !pick.forced ? []
    : pick.last ? [{ collection: schema.name, done: [pick.partition] }]
    : [{ collection: schema.name, written: outputs.map(f => f.key) }]
  return {
    edit: { collections: { [schema.name]: { added: outputs, removed: inputs.map(f => f.key) } }, queue },
    written: outputs.map(f => f.key),
    result: {
      partitions: picks.map(p => p.partition), inputFiles: inputs.length, outputFiles: outputs.length,
      rows: outputs.reduce((n, f) => n + f.rows, 0), forced: pick.forced, last: pick.last,
    },
  }
}

/**
 * Merges of one step built at once, at most: on R2 each waits a round trip for its inputs and
 * another for its upload, which the others' CPU fills. Memory bounds them further (mergeWeight).
 * One when the pass runs one request at a time (`concurrency` 1).
 */
const MERGES_AT_ONCE = 4

/**
 * A merge's share of what the merges running together may hold (bounded-work): their inputs, one
 * row group each, at most MAX_MERGE_INPUTS in all; their output files, each built in memory until
 * its PUT (as large as its inputs, up to MERGE_FILE_BYTES), at most two of the largest in all.
 */
function mergeWeight(pick: MergePick): number {
  const bytes = Math.min(MERGE_FILE_BYTES, pick.files.reduce((n, f) => n + f.bytes, 0))
  return Math.max(pick.files.length / MAX_MERGE_INPUTS, bytes / (2 * MERGE_FILE_BYTES))
}

/** One partition's merge, keeping at most `requests` of its own in flight. */
async function mergeOne(
  ctx: PassContext, target: MergeTarget, pick: MergePick, createdAt: number, requests: number,
): Promise<DataFile[]> {
  const schema = target.schema
  const inputs = pick.files
  const outputs: DataFile[] = []
  const file = { prefix: ctx.prefix, collection: schema.name, partition: pick.partition, level: 1 as const, createdAt }
  const rowGroupRows = ctx.options.rowGroupRows
  if (inputs.length && target.aggregate) {
    // Partial states: combine rows of the same group (one partition holds a bounded number of groups).
    // Every state is held anyway: the inputs are read together, then combined in input order.
    const decode = stateRowDecoder(target.aggregate)
    const perInput = await mapLimit(inputs, requests, async f => {
      const rows: StoredRow[] = []
      for await (const g of readFileRowGroups(ctx.bucket, schema, f, { decode })) rows.push(...g)
      return rows
    })
    const states = perInput.flat()
    const merged = mergeStateRows(target.aggregate, states)
    const tf = schema.timeField
    merged.sort((a, b) => (a[tf] as number) - (b[tf] as number))
    const out = await writeDataFile(ctx.bucket, schema, merged, {
      ...file, rowGroupRows, metadata: stateFileMetadata(),
    })
    if (out) outputs.push(out)
  } else if (inputs.length) {
    const sources = inputs.map(f => readFileRowGroups(ctx.bucket, schema, f))
    const merged = mergeSorted(sources, schema.timeField, requests)
    const state = { done: false }
    while (!state.done) {
      const rows = take(merged, ctx.options.maxRowsPerFile, state)
      const into = { ...file, rowGroupRows, maxFileBytes: MERGE_FILE_BYTES }
      const out = await writeDataFile(ctx.bucket, schema, rows, into)
      if (out) outputs.push(out)
      else break
    }
  }
  return outputs
}
