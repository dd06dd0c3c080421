import type { DataFile } from '../manifest/index.js'
import { partitionOf } from '../storage/index.js'
import { type ViewPlan, foldRows, stateFileMetadata } from '../mv/index.js'
import type { StoredRow } from '../schema/index.js'
import { type FileJob, writeFiles } from './file_writer.js'
import type { PassContext } from './pass_context.js'

/**
 * Derives every view fed by `root` from a batch of its rows, as the L0 files to write (row views:
 * rows; aggregating views: one partial-state row per group touched), in view order, and the views fed. The ingest step
 * writes them with its own files and puts them into the same manifest commit as the batch, so a
 * view always covers exactly the compacted part of its source. A scheduled view's files stay
 * pending until refresh.
 */
export function viewDeltaJobs(
  ctx: PassContext, root: string, rows: StoredRow[], createdAt: number,
): { views: string[]; jobs: FileJob[] } {
  const views: string[] = []
  const jobs: FileJob[] = []
  const rowsOf = new Map<string, StoredRow[]>([[root, rows]])
  for (const view of ctx.views) {
    if (view.root !== root) continue
    const source = rowsOf.get(view.from)
    if (!source) continue
    const derived: StoredRow[] = []
    for (const r of source) for (const d of view.rowsFrom(r)) derived.push(d)
    const viewRows = view.aggregate ? foldRows(view.aggregate, derived) : derived
    if (!view.aggregate) rowsOf.set(view.name, derived)
    views.push(view.name)
    jobs.push(...partitionedJobs(ctx, view, viewRows, createdAt, 0))
  }
  return { views, jobs }
}

/** Splits rows by hour partition of the view's time field and sorts each: one file job per partition. */
export function partitionedJobs(
  ctx: PassContext, view: ViewPlan, rows: StoredRow[], createdAt: number, level: 0 | 1,
): FileJob[] {
  const tf = view.stored.timeField
  const parts = new Map<string, StoredRow[]>()
  for (const r of rows) {
    const p = partitionOf(r[tf] as number)
    let list = parts.get(p)
    if (!list) parts.set(p, (list = []))
    list.push(r)
  }
  return [...parts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([partition, list]) => {
    list.sort((a, b) => (a[tf] as number) - (b[tf] as number))
    return {
      name: view.name, schema: view.stored, rows: list, pending: view.refresh.mode === 'scheduled',
      target: {
        prefix: ctx.prefix, collection: view.name, partition, level, createdAt, rowGroupRows: ctx.options.rowGroupRows,
        ...(view.aggregate ? { metadata: stateFileMetadata() } : {}),
      },
    }
  })
}

/** Writes one view's rows, one file per hour partition (FILES_IN_MEMORY at once). */
export async function writePartitioned(
  ctx: PassContext, view: ViewPlan, rows: StoredRow[], createdAt: number, level: 0 | 1,
): Promise<DataFile[]> {
  const jobs = partitionedJobs(ctx, view, rows, createdAt, level)
  const files = await writeFiles(ctx.bucket, jobs, ctx.options.concurrency)
  return files.filter((f): f is DataFile => f !== null)
}
