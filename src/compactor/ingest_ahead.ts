import type { SegmentRef } from '../wal/index.js'

/**
 * What the next ingest step of a collection will need, fetched while this one builds, uploads and
 * commits: the WAL listing and the next batch's segment bodies. On R2 a step otherwise waits for a
 * LIST, then for its GETs (only `concurrency` in flight, each tens of ms, more than decoding them
 * takes), and nothing is read while it writes; this moves those waits under the previous step's work.
 *
 * Safe because a WAL segment never changes once written (create-if-absent PUT): a body read before
 * this step commits is the body the next step would read. A segment another compactor consumed and
 * collected meanwhile only costs the next step its CAS (single-winner). A read started here and not
 * taken changes nothing, not even by failing, as with ReadAhead. Bounded (bounded-work): the bodies
 * of one batch at most (maxBatchBytes), `width` requests in flight; `settle()` waits for every
 * request started, so a pass returns with none of its own in flight.
 */
export class IngestAhead {
  private collection: string | null = null
  private listing: Promise<SegmentRef[]> | null = null
  private readonly bodies = new Map<string, Promise<string>>()
  private readonly started = new Set<Promise<unknown>>()
  /** The reads not yet started, in batch order; cleared when the step that needs them begins. */
  private queue: { ref: SegmentRef; run: () => Promise<string> }[] = []
  private running = 0

  /**
   * @param width requests in flight at most; with 0 nothing is read ahead (a pass whose
   * `concurrency` leaves no room beside its uploads and commit).
   */
  constructor(readonly width: number) {}

  /**
   * Starts the listing of `collection`'s WAL and the reads of `refs` (the next batch as this step
   * sees it), `width` at a time, for the collection's next step. A body already read and still
   * among them is kept; the others are forgotten.
   */
  start(collection: string, list: () => Promise<SegmentRef[]>, refs: readonly SegmentRef[] = [],
    read?: (ref: SegmentRef) => Promise<string>): void {
    if (this.width <= 0) return
    if (this.collection !== collection) this.drop()
    this.collection = collection
    this.listing = this.track(list())
    const keep = new Set(read ? refs.map(r => r.key) : [])
    for (const key of [...this.bodies.keys()]) if (!keep.has(key)) this.bodies.delete(key)
    this.queue = read ? refs.filter(r => !this.bodies.has(r.key)).map(ref => ({ ref, run: () => read(ref) })) : []
    this.pump()
  }

  /** The listing started for `collection`, once; null when none was (the step lists itself). */
  takeListing(collection: string): Promise<SegmentRef[]> | null {
    if (this.collection !== collection) return null
    const l = this.listing
    this.listing = null
    return l
  }

  /**
   * Prepares a step whose batch is `refs`: no further read is started here (the step reads the rest
   * itself, those in flight are its leading segments), and when the batch does not begin with what
   * was read ahead (the WAL changed, or another collection's turn), waits for those reads to end
   * first, so the step's own requests and these never add up to more than its concurrency.
   */
  async ready(collection: string, refs: readonly SegmentRef[]): Promise<void> {
    this.queue = []
    if (!this.bodies.size) return
    const leading = this.collection === collection &&
      refs.slice(0, this.bodies.size).every(r => this.bodies.has(r.key))
    if (!leading) await this.settle()
  }

  /** The read started ahead for `key`, once; undefined when there is none (the step reads it). */
  take(collection: string, key: string): Promise<string> | undefined {
    if (this.collection !== collection) return undefined
    const p = this.bodies.get(key)
    this.bodies.delete(key)
    return p
  }

  /** Resolves once every request started here has settled, whatever its outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.started)
  }

  /** Forgets what was read ahead (a step rebuilt after a conflict reads afresh). */
  drop(): void {
    this.collection = null
    this.listing = null
    this.bodies.clear()
    this.queue = []
  }

  private pump(): void {
    while (this.running < this.width && this.queue.length) {
      const { ref, run } = this.queue.shift()!
      this.running++
      const p = this.track(run())
      p.catch(() => {}).finally(() => { this.running--; this.pump() })
      this.bodies.set(ref.key, p)
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.started.add(p)
    // Seen by the step that takes it; a result not taken is irrelevant.
    p.catch(() => {}).finally(() => this.started.delete(p))
    return p
  }
}
