import type { DataFile } from '../manifest/index.js'
import { partitionOf } from '../storage/index.js'
import { type ViewPlan, foldRows, stateFileMetadata } from '../mv/index.js'
import type { StoredRow } from '../schema/index.js'
import { writeDataFile } from './file_writer.js'
import type { PassContext } from './pass_context.js'

/**
 * Derives every view fed by `root` from a batch of its rows and writes the results as L0
 * files (row views: rows; aggregating views: one partial-state row per group touched).
 * They go into the same manifest commit as the batch, so a view always covers exactly
 * the compacted part of its source. A scheduled view's files stay pending until refresh.
 */
export async function writeViewDeltas(
  ctx: PassContext, root: string, rows: StoredRow[], createdAt: number,
): Promise<Map<string, DataFile[]>> {
  const out = new Map<string, DataFile[]>()
  const rowsOf = new Map<string, StoredRow[]>([[root, rows]])
  for (const view of ctx.views) {
    if (view.root !== root) continue
    const source = rowsOf.get(view.from)
    if (!source) continue
    const derived: StoredRow[] = []
    for (const r of source) for (const d of view.rowsFrom(r)) derived.push(d)
    const viewRows = view.aggregate ? foldRows(view.aggregate, derived) : derived
    if (!view.aggregate) rowsOf.set(view.name, derived)
    out.set(view.name, await writePartitioned(ctx, view, viewRows, createdAt, 0))
  }
  return out
}

/** Splits rows by hour partition of the view's time field, sorts each, and writes one file per partition. */
export async function writePartitioned(
  ctx: PassContext, view: ViewPlan, rows: StoredRow[], createdAt: number, level: 0 | 1,
): Promise<DataFile[]> {
  const tf = view.stored.timeField
  const parts = new Map<string, StoredRow[]>()
  for (const r of rows) {
    const p = partitionOf(r[tf] as number)
    let list = parts.get(p)
    if (!list) parts.set(p, (list = []))
    list.push(r)
  }
  const files: DataFile[] = []
  for (const [partition, list] of [...parts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    list.sort((a, b) => (a[tf] as number) - (b[tf] as number))
    const file = await writeDataFile(ctx.bucket, view.stored, list, {
      prefix: ctx.prefix, collection: view.name, partition, level, createdAt, rowGroupRows: ctx.options.rowGroupRows,
      ...(view.aggregate ? { metadata: stateFileMetadata() } : {}),
    })
    if (file) files.push(view.refresh.mode === 'scheduled' ? { ...file, pending: true } : file)
  }
  return files
}
