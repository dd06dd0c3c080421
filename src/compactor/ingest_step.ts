import { type DataFile, type LoadedManifest, collectionState, partitionOf } from '../manifest/index.js'
import { type CollectionSchema, type StoredRow, recheckStoredRow } from '../schema/index.js'
import { type QuarantineEntry, type SegmentRef, WalCorruptError, decodeSegment, listSegments, writeQuarantine } from '../wal/index.js'
import { writeDataFile } from './file_writer.js'
import { writeViewDeltas } from './view_writer.js'
import { StaleManifest, type StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'

export interface IngestResult {
  segments: number
  rows: number
  files: number
  quarantined: string[]
  /** Unconsumed segments left after this batch. */
  backlog: number
}

/** WAL segments the manifest has not consumed, oldest ingest first. */
export async function pendingSegments(ctx: PassContext, loaded: LoadedManifest, collection: string): Promise<SegmentRef[]> {
  const consumed = new Set((loaded.manifest.collections[collection]?.consumed ?? []).map(c => c.key))
  return (await listSegments(ctx.bucket, ctx.prefix, collection)).filter(s => !consumed.has(s.key))
}

/**
 * Folds one bounded batch of WAL segments into L0 Parquet files, one per hour
 * partition the batch touches, and marks the segments consumed in the same commit.
 */
export async function ingestBatch(ctx: PassContext, schema: CollectionSchema, loaded: LoadedManifest): Promise<StepOutcome<IngestResult> | null> {
  const pending = await pendingSegments(ctx, loaded, schema.name)
  if (!pending.length) return null
  const batch: SegmentRef[] = []
  let bytes = 0
  for (const seg of pending) {
    if (batch.length && (batch.length >= ctx.options.maxSegmentsPerBatch || bytes + seg.size > ctx.options.maxBatchBytes)) break
    batch.push(seg)
    bytes += seg.size
  }

  const byPartition = new Map<string, StoredRow[]>()
  const quarantined: string[] = []
  const misfits: QuarantineEntry[] = []
  const written: string[] = []
  let rows = 0
  for (const seg of batch) {
    const body = await ctx.bucket.get(seg.key)
    // Listed a moment ago but gone: another compactor consumed and collected it. Start over.
    if (!body) {
      if (written.length) await ctx.bucket.delete(written.filter(k => !quarantined.includes(k)))
      throw new StaleManifest(`${seg.key} was collected by another compactor`)
    }
    const text = await body.text()
    let segRows: StoredRow[]
    try {
      segRows = decodeSegment(seg.key, text)
    } catch (e) {
      if (!(e instanceof WalCorruptError)) throw e
      // An unreadable segment must not block the WAL forever: keep its bytes in quarantine.
      const q = await writeQuarantine(ctx.bucket, ctx.prefix, schema.name, ctx.now(), [{ index: -1, reason: e.message, event: text }])
      written.push(q)
      quarantined.push(q)
      continue
    }
    for (const [index, raw] of segRows.entries()) {
      // The schema may have changed since the row was written: check it again. Fields the
      // schema no longer has are dropped; a row that no longer fits goes to quarantine.
      const n = recheckStoredRow(schema, raw)
      if (!n.ok) { misfits.push({ index, reason: `${seg.key}: ${n.reason}`, event: raw }); continue }
      const row = n.row
      const p = partitionOf(row[schema.timeField] as number)
      let list = byPartition.get(p)
      if (!list) byPartition.set(p, (list = []))
      list.push(row)
      rows++
    }
  }

  if (misfits.length) quarantined.push(await writeQuarantine(ctx.bucket, ctx.prefix, schema.name, ctx.now(), misfits))
  const createdAt = ctx.now()
  const files: DataFile[] = []
  for (const [partition, list] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const tf = schema.timeField
    list.sort((a, b) => (a[tf] as number) - (b[tf] as number))
    const file = await writeDataFile(ctx.bucket, schema, list, {
      prefix: ctx.prefix, collection: schema.name, partition, level: 0, createdAt, rowGroupRows: ctx.options.rowGroupRows,
    })
    if (file) { files.push(file); written.push(file.key) }
  }

  const views = await writeViewDeltas(ctx, schema.name, [...byPartition.values()].flat(), createdAt)
  for (const vf of views.values()) written.push(...vf.map(f => f.key))

  const next = structuredClone(loaded.manifest)
  const state = collectionState(next, schema.name)
  state.files.push(...files)
  state.consumed.push(...batch.map(s => ({ key: s.key, at: createdAt })))
  for (const [view, vf] of views) collectionState(next, view).files.push(...vf)
  return {
    next,
    // Quarantine copies are kept even if the commit loses: they are evidence, not data.
    written: written.filter(k => !quarantined.includes(k)),
    result: { segments: batch.length, rows, files: files.length, quarantined, backlog: pending.length - batch.length },
  }
}

