/**
 * The WAL's rows that are not in the bucket yet: batches a group-commit buffer (src/ingest) has
 * acknowledged but not flushed, or is flushing. Readers merge them with the listed segments.
 */

/** One acknowledged batch a buffer shard holds. */
export interface BufferedBatch {
  /** Its rows as WAL lines (NDJSON), as the segment that flushes it will hold them. */
  lines: string
  minTime: number
  maxTime: number
  /**
   * The id of the WAL segment a flush is writing (or has written) this batch into; null while
   * no flush has taken it. The segment's key is fixed before its PUT, so a reader can tell
   * whether the segment it listed already holds the batch.
   */
  segment: string | null
}

/** What a read asks of the buffers: one collection's batches overlapping a time range. */
export interface BufferRead {
  collection: string
  from?: number
  to?: number
  /** When the reader started listing the WAL (its clock); the listing holds what was stored well before. */
  listedAt: number
}

/** The buffers' side of the read interface; src/ingest implements it, the query engine reads it. */
export interface BufferSource {
  /** Every shard's batches for the read, from each shard's storage at the time it answers. */
  read(request: BufferRead): Promise<BufferedBatch[]>
  /**
   * How long a shard keeps a flushed batch after its segment is stored. A read whose WAL
   * listing is older than half of this when the buffers answer is planned again: a batch
   * dropped before the answer was stored long enough ago for the listing to hold it.
   */
  readonly retainMs: number
}

/**
 * The buffered batches a read counts, given the segments it lists and its manifest has consumed
 * (both by segment id): a batch whose flush segment is among them is read from that segment or
 * from the Parquet it was compacted into, so it is left out here; every other batch is read from
 * the buffer (invariants exactly-once, read-your-writes). The listing must be taken before the
 * buffers answer, so a batch taken by no flush when the shard answered cannot be in the listing.
 */
export function unflushedBatches(
  batches: readonly BufferedBatch[], listedIds: ReadonlySet<string>, consumedIds: ReadonlySet<string>,
): BufferedBatch[] {
  return batches.filter(b => b.segment === null || (!listedIds.has(b.segment) && !consumedIds.has(b.segment)))
}
