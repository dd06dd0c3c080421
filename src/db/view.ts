import type { Filter } from '../expr/index.js'
import { type ViewPlan, bucketEnd, bucketStart, chainTransform } from '../mv/index.js'
import type { CollectionSchema } from '../schema/index.js'
import { FindQuery, type FindContext, type FindOptions, type ReadTarget, type TimeRange } from '../query/index.js'

/**
 * A materialized view: read with find() like a collection. A streaming view also covers
 * its root collection's WAL tail, so an event shows in it as soon as bulkCreate resolves;
 * a scheduled view shows what its last refresh made current.
 */
export class View<Row = Record<string, unknown>> {
  /** What reads of this view scan (used by find() and by SQL). */
  readonly target: ReadTarget

  constructor(
    readonly plan: ViewPlan, plans: readonly ViewPlan[], root: CollectionSchema, private readonly ctx: FindContext,
  ) {
    this.target = {
      stored: plan.stored,
      output: plan.output,
      wal: plan.refresh.mode === 'scheduled'
        ? false
        : { collection: plan.root, schema: root, transform: chainTransform(plan, plans), widen: walRange(plan) },
      ...(plan.aggregate ? { aggregate: plan.aggregate } : {}),
    }
  }

  find(filter?: Filter, options?: FindOptions): FindQuery<Row> {
    return new FindQuery<Row>(this.target, this.ctx, filter, options)
  }
}

/**
 * Root rows that can land in a view row inside `range`: the same range for row views
 * (their time is the root's), up to a bucket further for a bucketed aggregate (a bucket
 * starts before the rows it holds), and everything for a view without a time bucket.
 */
function walRange(plan: ViewPlan): (r: TimeRange | undefined) => TimeRange | undefined {
  if (!plan.aggregate) return r => r
  const unit = plan.aggregate.keys.find(k => k.bucket)?.bucket
  if (!unit) return () => undefined
  return r => {
    if (!r || r.to === undefined) return r
    return { ...r, to: bucketEnd(unit, bucketStart(unit, r.to - 1)) }
  }
}
