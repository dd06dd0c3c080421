/**
 * The WAL's size limits, enforced where data enters (bulkCreate) so that nothing a caller
 * sends can make a later pass or query run out of memory or time (invariant bounded-work).
 * Named like SQLite's SQLITE_LIMIT_*: each is documented in docs/guarantees.md.
 */

/** One event, as its JSON line, at most this many bytes; a larger one is rejected with the reason. */
export const MAX_EVENT_BYTES = 1 << 20

/** A WAL segment holds at most this many bytes: a larger batch is split over several segments. */
export const MAX_SEGMENT_BYTES = 4 << 20

/**
 * A segment's events fall in at most this many hour partitions: a batch spread over more is
 * split, so one segment never makes a compaction step write an unbounded number of files.
 */
export const MAX_SEGMENT_PARTITIONS = 24

/**
 * Readers and the compactor never load a segment larger than this (none of ours is: only a
 * foreign writer or an older version can leave one). Queries skip it and say so; compaction
 * quarantines it in place.
 */
export const MAX_SEGMENT_READ_BYTES = 16 << 20
