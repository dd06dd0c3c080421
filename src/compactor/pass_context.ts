import type { CollectionSchema } from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import type { CompactionOptions } from './options.js'

/** What every step of a pass shares: where, which collections, the clock, the limits. */
export interface PassContext {
  bucket: Bucket
  prefix: string
  collections: CollectionSchema[]
  now: () => number
  options: CompactionOptions
  /** Real wall-clock deadline (Date.now()), separate from the injectable logical clock. */
  deadline: number
}

export function timeLeft(ctx: PassContext): boolean {
  return Date.now() < ctx.deadline
}
