import type { LoadedManifest } from '../manifest/index.js'
import type { ViewPlan } from '../mv/index.js'
import type { CollectionSchema } from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import type { IngestAhead } from './ingest_ahead.js'
import type { CompactionOptions } from './options.js'

/** What every step of a pass shares: where, which collections, the clock, the limits. */
export interface PassContext {
  bucket: Bucket
  prefix: string
  collections: CollectionSchema[]
  /** Views, sources before the views that read them. */
  views: ViewPlan[]
  /** Milliseconds of data kept per collection or view; absent keeps everything. */
  retention: Record<string, number>
  now: () => number
  options: CompactionOptions
  /** Real wall-clock deadline (Date.now()), separate from the injectable logical clock. */
  deadline: number
  /** The next ingest step's listing and segment bodies, read while this one writes (set by runPass). */
  ingestAhead?: IngestAhead
  /** The manifest as this pass last read or committed it; a stale one only costs a failed CAS. */
  loaded?: LoadedManifest
  /**
   * Collections whose WAL this pass has begun to fold: it is folded to the end of the backlog, never
   * held halfway (holdsWal decides once, before a pass's first fold).
   */
  folding?: Set<string>
}

export function timeLeft(ctx: PassContext): boolean {
  return Date.now() < ctx.deadline
}

/** The oldest time still kept for a collection or view, or -Infinity when it keeps everything. */
export function retentionCutoff(ctx: PassContext, name: string): number {
  const keep = ctx.retention[name]
  return keep === undefined ? -Infinity : ctx.now() - keep
}
