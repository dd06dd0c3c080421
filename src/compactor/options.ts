import { DEFAULT_CONCURRENCY } from '../storage/index.js'

/** Knobs for a compaction pass; defaults fit a once-a-minute cron in 128 MB. */
export interface CompactionOptions {
  /** Wall-clock budget for one pass. Crons under an hour get ~30 s of CPU; leave headroom. */
  timeBudgetMs: number
  /** WAL segments folded into one L0 batch (each is one GET). */
  maxSegmentsPerBatch: number
  /** NDJSON bytes folded into one L0 batch; parsed rows take several times this in memory. */
  maxBatchBytes: number
  /**
   * Hour partitions one ingest step writes at most (one L0 file each, plus view deltas), so a
   * backlog spread over many hours is folded a bounded step at a time. At least 24, the most
   * one WAL segment spans.
   */
  maxPartitionsPerStep: number
  /** A partition this long past its end hour is quiet, and its files are merged into L1. */
  quietAfterMs: number
  /** A partition with this many L0 files is merged even if still active. */
  maxL0Files: number
  /**
   * The WAL is the store's memtable: once a collection's WAL was folded, rows for hours still active
   * wait in it until the fold is this old, so an L0 file holds minutes of rows rather than one pass's
   * (a one-minute L0 file is about half footer and small dictionaries). Queries read held segments as
   * any pending one (read-your-writes). Rows of a quiet hour, holdWalSegments segments or holdWalBytes
   * bytes are folded at once. At most graceMs (older folds are forgotten); 0 folds every pass.
   */
  holdWalMs: number
  /** The WAL is folded at once when this many segments are pending (bounds a query's WAL reads). */
  holdWalSegments: number
  /** The WAL is folded at once when its pending segments add up to this many bytes. */
  holdWalBytes: number
  /**
   * Rows per Parquet row group (a group is also cut at ROW_GROUP_BYTES, 2 MB): the unit of streaming,
   * pruning and memory. A merge holds one row group per input file (up to 16).
   */
  rowGroupRows: number
  /**
   * Rows one merge or recompact step rewrites at most, so a step stays well inside the
   * pass's CPU time however busy an hour was; files of half this or more are not merged again.
   */
  maxMergeRows: number
  /**
   * An L1 file rolls over to the next at this many rows; the file is built in memory before upload
   * (~50 B a row compressed).
   */
  maxRowsPerFile: number
  /** Replaced files and consumed segments stay readable this long, for queries on the older manifest. */
  graceMs: number
  /**
   * An unreferenced data file this old (by the creation time in its name) is an orphan of a
   * pass that died, and is deleted. Far longer than any step can take, so a slow compactor's
   * not-yet-committed output is never mistaken for one; a step that runs past half of it
   * does not commit.
   */
  orphanAfterMs: number
  /** Attempts at one step when another compactor keeps winning the manifest race. */
  maxCasRetries: number
  /**
   * A view the schema no longer defines keeps its files this long before they are deleted, so
   * a deploy that left it out by mistake loses nothing a rebuild cannot bring back.
   */
  droppedViewGraceMs: number
  /**
   * Storage requests one step keeps in flight at most (R2 answers in tens of ms, so a step that
   * touches objects one at a time is as slow as their number): WAL segment GETs of an ingest step
   * (read ahead of the in-order partition-budget decision, never beyond the batch), quarantine
   * PUTs, the first row group of every merge input, view-rebuild sources, the sweep's LISTs and
   * GC's delete batches (up to 1,000 keys each). Data files are built in memory before their PUT,
   * so at most FILES_IN_MEMORY (4) of them are built or uploading at once, whatever this says.
   * 1 runs every step one request at a time. Default DEFAULT_CONCURRENCY (16).
   */
  concurrency: number
}

export const DEFAULT_COMPACTION: CompactionOptions = {
  timeBudgetMs: 25_000,
  maxSegmentsPerBatch: 400,
  maxBatchBytes: 8 << 20,
  maxPartitionsPerStep: 48,
  quietAfterMs: 10 * 60_000,
  maxL0Files: 8,
  holdWalMs: 4 * 60_000,
  holdWalSegments: 32,
  holdWalBytes: 4 << 20,
  rowGroupRows: 2_000,
  maxMergeRows: 100_000,
  maxRowsPerFile: 200_000,
  graceMs: 10 * 60_000,
  orphanAfterMs: 6 * 3_600_000,
  maxCasRetries: 5,
  droppedViewGraceMs: 7 * 86_400_000,
  concurrency: DEFAULT_CONCURRENCY,
}
