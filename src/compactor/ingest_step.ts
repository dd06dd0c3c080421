import type { CollectionEdit, DataFile, LoadedManifest } from '../manifest/index.js'
import { type CollectionSchema, type StoredRow, recheckStoredRow } from '../schema/index.js'
import {
  MAX_SEGMENT_PARTITIONS, type QuarantineEntry, type SegmentRef, decodeSegment, listSegments, pendingSegments,
  writeQuarantine,
} from '../wal/index.js'
import { PARTITION_MS, mapLimit, partitionOf, segmentQuarantineKey } from '../storage/index.js'
import { ReadAhead } from './concurrency.js'
import { IngestAhead } from './ingest_ahead.js'
import { type FileJob, writeFiles } from './file_writer.js'
import { viewDeltaJobs } from './view_writer.js'
import { StaleManifest, type StepOutcome } from './commit_step.js'
import type { PassContext } from './pass_context.js'
import { fitsPartitionBudget, holdsWal, ingestLevel, pickIngestSegments } from './pickers.js'

export interface IngestResult {
  segments: number
  rows: number
  files: number
  /** Quarantine objects written for bad lines and misfit rows (one per segment that had any). */
  quarantined: string[]
  /** Unconsumed segments left after this batch. */
  backlog: number
}

/** A segment taken into the batch: its rows by partition, and what of it goes to quarantine. */
interface ReadSegment {
  ref: SegmentRef
  byPartition: Map<string, StoredRow[]>
  rows: number
  rejects: QuarantineEntry[]
}

/**
 * Folds one bounded batch of WAL segments into Parquet files, one per hour partition the batch
 * touches (an hour already quiet straight into its final file: see ingestLevel), and marks the
 * segments consumed in the same commit. Bounded by construction
 * (invariant bounded-work): at most maxSegmentsPerBatch segments, maxBatchBytes of NDJSON and
 * maxPartitionsPerStep partitions. What cannot be ingested — lines that are not rows, rows the
 * schema no longer takes, a foreign segment too large or too spread to ingest — goes to
 * quarantine once, under a key named after its segment, and never stops the pass (invariant
 * nothing-dropped).
 */
export async function ingestBatch(
  ctx: PassContext, schema: CollectionSchema, loaded: LoadedManifest,
): Promise<StepOutcome<IngestResult> | null> {
  const state = loaded.manifest.collections[schema.name]
  const ahead = ctx.ingestAhead ?? NOTHING_AHEAD
  const listed = await (ahead.takeListing(schema.name) ?? listSegments(ctx.bucket, ctx.prefix, schema.name))
  const { pending, duplicates, retries } = pendingSegments(listed, (state?.consumed ?? []).map(c => c.key))
  if (!pending.length && !duplicates.length) return null
  const folding = (ctx.folding ??= new Set())
  const lastFold = state?.consumed.reduce((t, c) => Math.max(t, c.at), -Infinity)
  if (!folding.has(schema.name) && holdsWal(pending, lastFold, ctx.now(), ctx.options)) return null
  folding.add(schema.name)

  const taken: ReadSegment[] = []
  const inPlace: { ref: SegmentRef; reason: string }[] = []
  const partitions = new Set<string>()
  const limit = ctx.options.concurrency
  const picks = pickIngestSegments(pending, ctx.options)
  await ahead.ready(schema.name, picks.map(p => p.ref))
  // GETs run up to `limit` segments ahead of the decisions below, which stay in order and one by
  // one: a segment read ahead but not taken (the partition budget stopped first) changes nothing,
  // not even by failing, and the batch stays within its bounds (bounded-work). The first few may
  // have been read while the previous step wrote and committed (IngestAhead).
  const reads = new ReadAhead(picks, limit, async p => (p.tooLarge ? null
    : decodeForIngest(schema, p.ref, await (ahead.take(schema.name, p.ref.key) ?? readSegmentBody(ctx, p.ref)))))
  try {
    for (const [i, { ref, tooLarge }] of picks.entries()) {
      // Only a foreign writer leaves one this large; loading it could exhaust memory.
      if (tooLarge) { inPlace.push({ ref, reason: tooLarge }); continue }
      const seg = (await reads.take(i))!
      const own = [...seg.byPartition.keys()]
      if (own.length > MAX_SEGMENT_PARTITIONS) {
        // bulkCreate never writes such a segment; keep a foreign one whole, with the reason.
        const reason = `spans ${own.length} hour partitions, over the limit of ${MAX_SEGMENT_PARTITIONS} ` +
          'per segment; replay its rows with bulkCreate, which splits them'
        // Added to what was already set apart (bad lines, misfits), never in place of it.
        seg.rejects.push(...[...seg.byPartition.values()].flat()
          .map((event, index) => ({ index, reason, event, segment: ref.key })))
        seg.byPartition.clear()
        seg.rows = 0
      } else if (!fitsPartitionBudget(partitions, own, ctx.options.maxPartitionsPerStep, taken.length)) {
        break // the next step takes it
      }
      for (const p of seg.byPartition.keys()) partitions.add(p)
      taken.push(seg)
    }
  } finally {
    // No GET of this step is left in flight, whether it returns or throws.
    await reads.settle()
  }

  // Every segment is read before anything is written: a segment found gone (StaleManifest) leaves
  // nothing behind. Quarantine keys are named after their segment, so a retried step rewrites the
  // same object (crash-safe, nothing-dropped).
  const rejected = taken.filter(s => s.rejects.length)
  const quarantined = await mapLimit(rejected, limit, s =>
    writeQuarantine(ctx.bucket, segmentQuarantineKey(ctx.prefix, schema.name, s.ref.key), s.rejects))
  const consumedPending = taken.length + inPlace.length
  if (consumedPending < pending.length) {
    // The next step's listing and first segments are read while this one writes and commits.
    const next = pickIngestSegments(pending.slice(consumedPending), ctx.options).filter(p => !p.tooLarge)
    ahead.start(schema.name, () => listSegments(ctx.bucket, ctx.prefix, schema.name), next.map(p => p.ref),
      ref => readSegmentBody(ctx, ref))
  }

  const byPartition = new Map<string, StoredRow[]>()
  for (const seg of taken) {
    for (const [p, list] of seg.byPartition) {
      const all = byPartition.get(p)
      if (all) all.push(...list)
      else byPartition.set(p, list)
    }
  }
  const createdAt = ctx.now()
  const tf = schema.timeField
  const own: FileJob[] = [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1)).map(([partition, list]) => {
    list.sort((a, b) => (a[tf] as number) - (b[tf] as number))
    return {
      name: schema.name, schema, rows: list,
      target: {
        prefix: ctx.prefix, collection: schema.name, partition, createdAt,
        level: ingestLevel(partition, createdAt, ctx.options.quietAfterMs),
        rowGroupRows: ctx.options.rowGroupRows,
      },
    }
  })
  // The collection's L0 files and its views' deltas are uploaded together, a few at a time.
  const deltas = viewDeltaJobs(ctx, schema.name, [...byPartition.values()].flat(), createdAt)
  const jobs = [...own, ...deltas.jobs]
  const out = await writeFiles(ctx.bucket, jobs, limit)
  const files: DataFile[] = []
  const views = new Map<string, DataFile[]>(deltas.views.map(v => [v, []]))
  const written: string[] = []
  for (const [i, job] of jobs.entries()) {
    const file = out[i]
    if (!file) continue
    written.push(file.key)
    if (job.name === schema.name) files.push(file)
    else views.get(job.name)!.push(file)
  }

  // A retry goes with the segment it repeats: consumed in the same commit, never before it.
  const takenIds = new Set([...taken.map(s => s.ref.id), ...inPlace.map(s => s.ref.id)])
  const settled = [...duplicates, ...retries.filter(r => takenIds.has(r.id))]
  const consumed = [
    ...taken.map(s => ({ key: s.ref.key })),
    ...settled.map(s => ({ key: s.key })),
    ...inPlace.map(s => ({ key: s.ref.key, quarantined: s.reason })),
  ]
  const collections: Record<string, CollectionEdit> = { [schema.name]: { added: files, consumed } }
  for (const [view, vf] of views) collections[view] = { added: vf }
  return {
    edit: { collections },
    // Quarantine copies are kept even if the commit loses: they are evidence, not data.
    written,
    result: {
      segments: consumedPending + settled.length,
      rows: taken.reduce((n, s) => n + s.rows, 0),
      files: files.length,
      quarantined,
      backlog: pending.length - consumedPending,
    },
  }
}

/** A context without read-ahead (one built outside runPass) reads every segment itself. */
const NOTHING_AHEAD = new IngestAhead(0)

/** One segment's NDJSON, as listed a moment ago. */
async function readSegmentBody(ctx: PassContext, ref: SegmentRef): Promise<string> {
  const body = await ctx.bucket.get(ref.key)
  // Listed a moment ago but gone: another compactor consumed and collected it. Start over (this
  // step has written nothing yet: segments are all read before the first file is written).
  if (!body) throw new StaleManifest(`${ref.key} was collected by another compactor`)
  return body.text()
}

/**
 * One segment for ingest: rows re-checked against the current schema (it may have
 * changed since they were written; fields it no longer has are dropped), grouped by partition;
 * bad lines and rows that no longer fit are set apart for quarantine.
 */
function decodeForIngest(schema: CollectionSchema, ref: SegmentRef, text: string): ReadSegment {
  const decoded = decodeSegment(text)
  const rejects: QuarantineEntry[] = decoded.bad.map(b => ({
    index: b.line, reason: b.reason, event: b.text, segment: ref.key,
  }))
  const byPartition = new Map<string, StoredRow[]>()
  // A segment's rows fall in a few hours: name each hour once, not once per row.
  const names = new Map<number, string>()
  let rows = 0
  for (const [index, raw] of decoded.rows.entries()) {
    const n = recheckStoredRow(schema, raw)
    if (!n.ok) { rejects.push({ index, reason: n.reason, event: raw, segment: ref.key }); continue }
    const t = n.row[schema.timeField] as number
    const hour = Math.floor(t / PARTITION_MS)
    let p = names.get(hour)
    if (p === undefined) names.set(hour, (p = partitionOf(t)))
    let list = byPartition.get(p)
    if (!list) byPartition.set(p, (list = []))
    list.push(n.row)
    rows++
  }
  return { ref, byPartition, rows, rejects }
}
