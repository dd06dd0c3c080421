import type { Filter } from '../expr/index.js'
import { FindQuery, collectionTarget, type FindContext, type FindOptions } from '../query/index.js'
import { type CollectionSchema, normalizeRow, type StoredRow } from '../schema/index.js'
import type { Bucket } from '../storage/index.js'
import { type QuarantineEntry, type WalWriter, writeQuarantine } from '../wal/index.js'

export interface Rejected {
  index: number
  reason: string
}

export interface BulkCreateResult {
  /** Events stored in the WAL segment. */
  written: number
  /** Events refused, with why; they are kept under quarantine/, never dropped silently. */
  rejected: Rejected[]
  /** Key of the WAL segment written, or null when no event was valid. */
  segment: string | null
  /** Key of the quarantine object holding the rejected events, or null. */
  quarantine: string | null
}

export interface CollectionDeps extends FindContext {
  bucket: () => Promise<Bucket>
  prefix: string
  now: () => number
  wal: WalWriter
}

/** One collection of a DB: writes go to the WAL; reads merge Parquet with the WAL tail. */
export class Collection<Row = Record<string, unknown>, Input = Record<string, unknown>> {
  constructor(readonly schema: CollectionSchema, private readonly deps: CollectionDeps) {}

  /**
   * Validates each event and stores the valid ones as one WAL segment (one PUT).
   * Resolves once the segment is durable. Invalid events are reported in `rejected`
   * and written to a quarantine object, never mixed into the data.
   */
  async bulkCreate(events: readonly Input[]): Promise<BulkCreateResult> {
    if (!Array.isArray(events)) throw new TypeError(`${this.schema.name}.bulkCreate() takes an array of events, got ${typeof events}`)
    const rows: StoredRow[] = []
    const bad: QuarantineEntry[] = []
    events.forEach((event, index) => {
      const n = normalizeRow(this.schema, event)
      if (n.ok) rows.push(n.row)
      else bad.push({ index, reason: n.reason, event })
    })
    const bucket = await this.deps.bucket()
    const [seg, quarantine] = await Promise.all([
      rows.length ? this.deps.wal.append(this.schema.name, rows, this.schema.timeField) : null,
      bad.length ? writeQuarantine(bucket, this.deps.prefix, this.schema.name, this.deps.now(), bad) : null,
    ])
    if (bad.length) {
      console.warn(`parquedb: ${this.schema.name}.bulkCreate rejected ${bad.length} of ${events.length} events (kept in ${quarantine}): ${bad.slice(0, 3).map(b => `#${b.index} ${b.reason}`).join('; ')}`)
    }
    return { written: rows.length, rejected: bad.map(({ index, reason }) => ({ index, reason })), segment: seg?.key ?? null, quarantine }
  }

  async create(event: Input): Promise<BulkCreateResult> {
    return this.bulkCreate([event])
  }

  /**
   * Rows matching a MongoDB-style filter, compacted or still in the WAL, each exactly once.
   * `await` it for an array (or `.items`), `for await` to stream, `.explain()` for its costs.
   */
  find(filter?: Filter, options?: FindOptions): FindQuery<Row> {
    return new FindQuery<Row>(collectionTarget(this.schema), this.deps, filter, options)
  }
}
