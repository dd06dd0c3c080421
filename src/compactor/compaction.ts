import { type PassSummary, loadManifest, writeLastPass } from '../manifest/index.js'
import type { ViewPlan } from '../mv/index.js'
import type { CollectionSchema } from '../schema/index.js'
import { type Bucket, CountingBucket } from '../storage/index.js'
import { CompactionConflictError, commitStep } from './commit_step.js'
import { collectGarbage } from './gc_step.js'
import { ingestBatch } from './ingest_step.js'
import { type MergeTarget, mergePartition } from './merge_step.js'
import { refreshDueViews } from './refresh_step.js'
import { expirePartitions } from './retention_step.js'
import { collectionPartitionsFor, viewPartitionsFor } from './pickers.js'
import { rebuildViewPartition } from './view_rebuild.js'
import { registerViews } from './view_registration.js'
import { type CompactionOptions, DEFAULT_COMPACTION } from './options.js'
import { type TablePublisher, publishTables } from './publisher.js'
import { type PassContext, timeLeft } from './pass_context.js'
import { IngestAhead } from './ingest_ahead.js'
import { FILES_IN_MEMORY } from './concurrency.js'
import { listSegments } from '../wal/index.js'

export interface CompactorConfig {
  bucket: Bucket
  prefix: string
  collections: CollectionSchema[]
  views?: ViewPlan[]
  /** Milliseconds of data kept per collection or view (DBOptions.retention, parsed). */
  retention?: Record<string, number>
  /** Scheduled views to refresh in this pass whether or not their schedule is due. */
  refresh?: string[]
  now: () => number
  options?: Partial<CompactionOptions>
  /** Publishes the store as tables for other engines once per pass (parquedb/iceberg). */
  publisher?: TablePublisher
}

type RunContext = PassContext & Required<Pick<PassContext, 'ingestAhead'>>

function context(config: CompactorConfig, counting: CountingBucket): RunContext {
  const options = { ...DEFAULT_COMPACTION, ...config.options }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`compaction: concurrency must be a positive integer, got ${String(options.concurrency)}`)
  }
  return {
    bucket: counting, prefix: config.prefix, collections: config.collections, views: config.views ?? [],
    retention: config.retention ?? {}, now: config.now, options, deadline: Date.now() + options.timeBudgetMs,
    // Beside a step's uploads (FILES_IN_MEMORY) and its commit, so a pass stays within `concurrency`.
    ingestAhead: new IngestAhead(options.concurrency - FILES_IN_MEMORY - 1),
  }
}

/**
 * One bounded compaction pass, what the cron runs: note new or changed views (queueing
 * their rebuild), fold WAL batches into L0 files together with the views they feed, refresh
 * scheduled views that are due, drop partitions past their retention, merge quiet or
 * crowded partitions (and pending recompacts), rebuild queued view partitions, then
 * collect garbage. Every step commits on its own, so
 * a pass that dies or runs out of time leaves a consistent manifest and the next pass
 * carries on (crash-safe, bounded-work).
 */
export async function runPass(config: CompactorConfig): Promise<PassSummary> {
  const counting = new CountingBucket(config.bucket)
  const ctx = context(config, counting)
  const started = Date.now()
  const s: PassSummary = {
    at: ctx.now(), durationMs: 0, segmentsCompacted: 0, rowsCompacted: 0, filesWritten: 0, partitionsMerged: 0,
    partitionsRecompacted: 0, partitionsExpired: 0, viewsRefreshed: 0, objectsDeleted: 0, casRetries: 0, ops: {},
    backlogSegments: 0, done: true,
  }
  const retry = () => { s.casRetries++ }
  let worked = false
  let publishError: unknown
  // The first collection's WAL is listed while the manifest is read.
  const first = ctx.collections[0]
  if (first) ctx.ingestAhead.start(first.name, () => listSegments(ctx.bucket, ctx.prefix, first.name))
  try {
    if (await commitStep(ctx, loaded => registerViews(ctx, loaded), retry)) worked = true
    for (const schema of ctx.collections) {
      while (timeLeft(ctx)) {
        const r = await commitStep(ctx, loaded => ingestBatch(ctx, schema, loaded), retry)
        if (!r) break
        worked = true
        s.segmentsCompacted += r.segments
        s.rowsCompacted += r.rows
        s.filesWritten += r.files
        s.backlogSegments = r.backlog
        if (r.backlog === 0) break
      }
    }
    if (timeLeft(ctx)) {
      const r = await commitStep(ctx, loaded => refreshDueViews(ctx, loaded, config.refresh), retry)
      if (r) { worked = true; s.viewsRefreshed = r.length }
    }
    // Before merges and rebuilds, so no work is spent on partitions about to go.
    {
      const r = await commitStep(ctx, loaded => expirePartitions(ctx, loaded), retry)
      if (r) { worked = true; s.partitionsExpired = r.partitions }
    }
    const targets: MergeTarget[] = [
      ...ctx.collections.map(schema => ({ schema })),
      ...ctx.views.map(v => ({ schema: v.stored, view: true, ...(v.aggregate ? { aggregate: v.aggregate } : {}) })),
    ]
    for (const target of targets) {
      while (timeLeft(ctx)) {
        const r = await commitStep(ctx, loaded => mergePartition(ctx, target, loaded), retry)
        if (!r) break
        worked = true
        s.filesWritten += r.outputFiles
        if (!r.forced) s.partitionsMerged += r.partitions.length
        else if (r.last) s.partitionsRecompacted++
      }
    }
    while (timeLeft(ctx)) {
      const r = await commitStep(ctx, loaded => rebuildViewPartition(ctx, loaded), retry)
      if (!r) break
      worked = true
      s.partitionsRecompacted++
    }
    s.done = timeLeft(ctx)
    // Iceberg tables: once per pass, before garbage collection keeps what their snapshots list (safe-gc).
    // A publish that keeps failing (a catalog down, a bad location) must not stop collection too:
    // what the committed snapshots list stays held either way. Its error is thrown after the pass.
    try {
      s.tablesPublished = (await publishTables(ctx, config.publisher, retry)).length
      if (s.tablesPublished) worked = true
    } catch (e) {
      if (e instanceof CompactionConflictError) throw e
      publishError = e
      s.publishError = (e as Error)?.message ?? String(e)
      worked = true
    }
    // Collection runs every pass, even one whose budget went to a backlog: it is small (one
    // LIST page per collection), and skipping it under load would let garbage and the
    // manifest's consumed list grow without bound. A cached manifest is safe for the sweep:
    // a file another compactor commits is younger than half the orphan age.
    const r = await commitStep(ctx, loaded => collectGarbage(ctx, loaded), retry)
    if (r) { worked = true; s.objectsDeleted += r.deleted }
  } catch (e) {
    // Losing every race means another compactor is doing the work; that is not a failure.
    if (!(e instanceof CompactionConflictError)) throw e
    s.done = false
  } finally {
    // Reads started ahead for a step that never ran: none outlives the pass.
    await ctx.ingestAhead.settle()
  }
  s.durationMs = Date.now() - started
  s.ops = { ...counting.ops }
  // Observability only: every step has committed, so a failure here is reported, not thrown.
  if (worked) {
    await writeLastPass(config.bucket, config.prefix, s)
      .catch((e: unknown) => console.warn(
        `parquedb: the pass's work is committed, but its summary could not be stored: ` +
        `${(e as Error)?.message ?? String(e)}`,
      ))
  }
  if (publishError !== undefined) throw publishError
  return s
}

/** Publishes the tables now, outside a pass (db.publish()); returns the tables that changed. */
export async function publishNow(config: CompactorConfig): Promise<string[]> {
  return publishTables(context(config, new CountingBucket(config.bucket)), config.publisher, () => {})
}

export interface RecompactRequest {
  from?: Date | number
  to?: Date | number
  collections?: string[]
}

export interface RecompactResult {
  partitions: Record<string, string[]>
  pass: PassSummary
  /** Partitions still queued; later passes (the cron) finish them. */
  remaining: number
}

/**
 * Queues every stored partition of the chosen collections that overlaps [from, to)
 * for a rewrite, then runs a pass. The queue lives in the manifest, so a rewrite
 * larger than one pass's budget resumes on the next cron.
 */
export async function recompact(config: CompactorConfig, req: RecompactRequest = {}): Promise<RecompactResult> {
  const from = req.from === undefined ? -Infinity : +req.from
  const to = req.to === undefined ? Infinity : +req.to
  if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
    throw new RangeError(`recompact: need from < to, got from=${String(req.from)} to=${String(req.to)}`)
  }
  const views = config.views ?? []
  const known = [...config.collections.map(c => c.name), ...views.map(v => v.name)]
  const asked = req.collections ?? config.collections.map(c => c.name)
  for (const n of asked) {
    if (!known.includes(n)) {
      throw new RangeError(`recompact: unknown collection or view ${JSON.stringify(n)}; known: ${known.join(', ')}`)
    }
  }
  // A collection's views are rebuilt with it: they are derived from what it stores.
  const names = [...new Set([...asked, ...views.filter(v => asked.includes(v.root)).map(v => v.name)])]
  const counting = new CountingBucket(config.bucket)
  const ctx = context(config, counting)
  const queued: Record<string, string[]> = {}
  await commitStep(ctx, async loaded => {
    const m = loaded.manifest
    for (const name of names) {
      const view = views.find(v => v.name === name)
      queued[name] = view ? viewPartitionsFor(view, m, from, to) : collectionPartitionsFor(m, name, from, to)
    }
    const queue = names.map(name => ({ collection: name, added: queued[name] }))
    return { edit: { queue }, written: [], result: true }
  }, () => {})
  const pass = await runPass(config)
  const after = await loadManifest(config.bucket, config.prefix, config.now())
  return { partitions: queued, pass, remaining: after.manifest.recompact.reduce((n, r) => n + r.partitions.length, 0) }
}
