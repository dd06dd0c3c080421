import type { DataFile, LoadedManifest, QueueEdit } from '../manifest/index.js'
import { readFileRowGroups } from '../query/index.js'
import { type ViewPlan, mergeStateRows, stateFileMetadata, stateRowDecoder } from '../mv/index.js'
import type { CollectionSchema, StoredRow } from '../schema/index.js'
import { mapLimit } from '../storage/index.js'
import { writeDataFile } from './file_writer.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { MERGE_FILE_BYTES, pickMerge } from './pickers.js'
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

/**
 * Rewrites the picked files of one partition into L1 files: a streaming k-way merge by
 * time, so memory stays at one row group per input (bounded-work). The edit removes the inputs,
 * which applyEdit sends to garbage: readers of the older manifest keep working (safe-gc).
 */
export async function mergePartition(
  ctx: PassContext, target: MergeTarget, loaded: LoadedManifest,
): Promise<StepOutcome<MergeResult> | null> {
  const schema = target.schema
  // A view's queued recompact is a rebuild from its source (view_rebuild.ts), not a merge.
  const pick = pickMerge(loaded.manifest, schema.name, ctx.options, ctx.now(), !target.view)
  if (!pick) return null
  const inputs = pick.files
  const createdAt = ctx.now()
  const outputs: DataFile[] = []
  const file = { prefix: ctx.prefix, collection: schema.name, partition: pick.partition, level: 1 as const, createdAt }
  const rowGroupRows = ctx.options.rowGroupRows
  if (inputs.length && target.aggregate) {
    // Partial states: combine rows of the same group (one partition holds a bounded number of groups).
    // Every state is held anyway: the inputs are read together, then combined in input order.
    const decode = stateRowDecoder(target.aggregate)
    const perInput = await mapLimit(inputs, ctx.options.concurrency, async f => {
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
    const merged = mergeSorted(sources, schema.timeField, ctx.options.concurrency)
    const state = { done: false }
    while (!state.done) {
      const rows = take(merged, ctx.options.maxRowsPerFile, state)
      const into = { ...file, rowGroupRows, maxFileBytes: MERGE_FILE_BYTES }
      const out = await writeDataFile(ctx.bucket, schema, rows, into)
      if (out) outputs.push(out)
      else break
    }
  }
  // A rewrite in several steps records what it wrote, so its next step skips those files.
  const queue: QueueEdit[] = !pick.forced ? []
    : pick.last ? [{ collection: schema.name, done: [pick.partition] }]
    : [{ collection: schema.name, written: outputs.map(f => f.key) }]
  return {
    edit: { collections: { [schema.name]: { added: outputs, removed: inputs.map(f => f.key) } }, queue },
    written: outputs.map(f => f.key),
    result: {
      partition: pick.partition, inputFiles: inputs.length, outputFiles: outputs.length,
      rows: outputs.reduce((n, f) => n + f.rows, 0), forced: pick.forced, last: pick.last,
    },
  }
}
