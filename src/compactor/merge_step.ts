import { type DataFile, type LoadedManifest, collectionState, partitionRange } from '../manifest/index.js'
import { readFileRowGroups } from '../query/index.js'
import type { CollectionSchema } from '../schema/index.js'
import { writeDataFile } from './file_writer.js'
import type { StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { mergeSorted, take } from './sorted_merge.js'

export interface MergeResult {
  partition: string
  inputFiles: number
  outputFiles: number
  rows: number
  forced: boolean
}

/** Which partition of a collection to merge next, if any: pending recompacts first, then quiet or crowded partitions. */
export function pickPartition(ctx: PassContext, loaded: LoadedManifest, collection: string): { partition: string; forced: boolean } | null {
  const m = loaded.manifest
  const pending = m.recompact.find(r => r.collection === collection && r.partitions.length)
  if (pending) return { partition: pending.partitions[0]!, forced: true }
  const byPartition = groupFiles(m.collections[collection]?.files ?? [])
  const now = ctx.now()
  for (const [partition, files] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const l0 = files.filter(f => f.level === 0).length
    const quiet = partitionRange(partition)[1] + ctx.options.quietAfterMs <= now
    if ((quiet && files.length >= 2) || l0 >= ctx.options.maxL0Files) return { partition, forced: false }
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
 * Rewrites every file of one partition into L1 files: a streaming k-way merge by
 * time, so memory stays at one row group per input. The inputs move to the garbage
 * list and are deleted after the grace period; readers of the older manifest keep working.
 */
export async function mergePartition(ctx: PassContext, schema: CollectionSchema, loaded: LoadedManifest): Promise<StepOutcome<MergeResult> | null> {
  const pick = pickPartition(ctx, loaded, schema.name)
  if (!pick) return null
  const inputs = (loaded.manifest.collections[schema.name]?.files ?? []).filter(f => f.partition === pick.partition)
  const createdAt = ctx.now()
  const outputs: DataFile[] = []
  if (inputs.length) {
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
