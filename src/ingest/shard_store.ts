import { MAX_SEGMENT_BYTES, MAX_SEGMENT_PARTITIONS, type BufferedBatch } from '../wal/index.js'
import { PARTITION_MS } from '../storage/index.js'

/** The SQL API of a SQLite-backed Durable Object (`ctx.storage.sql`), as far as the shard uses it. */
export interface Sql {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[]; readonly rowsWritten: number }
}

/** A batch as an append hands it to the store: its WAL lines and what the flush needs to know of them. */
export interface NewBatch {
  collection: string
  key: string
  lines: string
  events: number
  bytes: number
  minTime: number
  maxTime: number
  at: number
}

/**
 * A future segment: one SQLite table (`b_<seq>`) of one collection's batches, which one flush
 * writes as ONE WAL segment. Its segment id is fixed when the table is created; its key (which
 * carries the flush time and the rows' time range) when the flush is recorded, before its PUT.
 * `storedAt` is set once the PUT succeeded, `dropped` once the table is dropped; the row outlives
 * the table for REMEMBER_KEYS_MS so a retried batch is still recognised.
 */
export interface SegmentRecord {
  seq: number
  collection: string
  segment: string
  key: string | null
  storedAt: number | null
  dropped: boolean
}

/** What a shard holds of one collection and has not yet put in a recorded flush. */
export interface Unflushed {
  batches: number
  events: number
  bytes: number
  oldestAt: number
}

/** An unrecorded table's running totals, kept in memory so an append reads no rows. */
interface OpenTable extends Unflushed {
  seq: number
  collection: string
  hours: Set<number>
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS segments (seq INTEGER PRIMARY KEY, collection TEXT NOT NULL, segment TEXT NOT NULL,
    key TEXT, stored_at INTEGER, dropped INTEGER NOT NULL DEFAULT 0, batch_keys TEXT)`,
  'CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
]

const table = (seq: number) => `b_${seq}`

const hoursOf = (minTime: number, maxTime: number) => {
  const out: number[] = []
  for (let h = Math.floor(minTime / PARTITION_MS); h <= Math.floor(maxTime / PARTITION_MS); h++) out.push(h)
  return out
}

/**
 * A shard's storage. Batches go to one table per future segment, so a flush drops a whole table —
 * which SQLite counts (and Durable Objects bill) as no rows written, where deleting the batches one
 * by one would be a row each: an event costs one row written, its insert (docs/costs.md). The
 * counters an append needs live in memory and are rebuilt from the tables when the object starts.
 */
export class ShardStore {
  /** SQLite rows this store has written since it opened, as SQLite counts them (what is billed). */
  rowsWritten = 0
  private readonly sql: Sql
  private nextSeq = 1
  /** Tables not yet in a recorded flush, by seq; the newest of a collection takes its appends. */
  private open = new Map<number, OpenTable>()
  private current = new Map<string, number>()
  /** Keys of the batches held or flushed within REMEMBER_KEYS_MS: a retry of one stores nothing. */
  private keys = new Set<string>()

  constructor(raw: Sql) {
    this.sql = {
      exec: (query, ...bindings) => {
        const cursor = raw.exec(query, ...bindings)
        const rows = cursor.toArray()
        this.rowsWritten += cursor.rowsWritten
        return { toArray: () => rows, rowsWritten: cursor.rowsWritten }
      },
    }
    for (const s of SCHEMA) this.sql.exec(s)
    const seq = this.meta('seq')
    this.nextSeq = seq ? Number(seq) : 1
    for (const r of this.records('all')) {
      if (r.dropped) {
        const keys = this.sql.exec('SELECT batch_keys FROM segments WHERE seq = ?', r.seq).toArray()[0]?.batch_keys
        for (const k of String(keys ?? '').split('\n')) if (k) this.keys.add(k)
        continue
      }
      const rows = this.sql.exec(`SELECT key, events, bytes, min_time, max_time, at FROM ${table(r.seq)}`).toArray()
      for (const b of rows) this.keys.add(b.key as string)
      if (r.key !== null) continue
      const t: OpenTable = {
        seq: r.seq, collection: r.collection, batches: 0, events: 0, bytes: 0, oldestAt: Infinity, hours: new Set(),
      }
      for (const b of rows) {
        this.count(t, b.events as number, b.bytes as number, b.at as number, b.min_time as number, b.max_time as number)
      }
      this.open.set(r.seq, t)
      this.current.set(r.collection, r.seq)
    }
  }

  meta(name: string): string | null {
    return (this.sql.exec('SELECT value FROM meta WHERE name = ?', name).toArray()[0]?.value as string) ?? null
  }

  setMeta(name: string, value: string): void {
    this.sql.exec('INSERT INTO meta (name, value) VALUES (?, ?) ' +
      'ON CONFLICT(name) DO UPDATE SET value = excluded.value', name, value)
  }

  has(key: string): boolean {
    return this.keys.has(key)
  }

  /**
   * Whether a batch joins its collection's current table, or needs a new one: a table is one
   * segment, at most `maxBytes` (and MAX_SEGMENT_BYTES) and MAX_SEGMENT_PARTITIONS hours.
   */
  fits(b: Pick<NewBatch, 'collection' | 'bytes' | 'minTime' | 'maxTime'>, maxBytes: number): boolean {
    const seq = this.current.get(b.collection)
    const t = seq === undefined ? undefined : this.open.get(seq)
    if (!t) return false
    if (t.bytes + b.bytes > Math.min(maxBytes, MAX_SEGMENT_BYTES)) return false
    const hours = new Set([...t.hours, ...hoursOf(b.minTime, b.maxTime)])
    return hours.size <= MAX_SEGMENT_PARTITIONS
  }

  /**
   * A new table for a collection's next segment, its segment id fixed now (from the shard and a
   * sequence number the meta row keeps, never reused). Run inside a transaction.
   */
  openTable(collection: string, segment: (seq: number) => string): number {
    const seq = this.nextSeq
    this.sql.exec(`CREATE TABLE ${table(seq)} (key TEXT NOT NULL, lines TEXT NOT NULL, events INTEGER NOT NULL,
      bytes INTEGER NOT NULL, min_time INTEGER NOT NULL, max_time INTEGER NOT NULL, at INTEGER NOT NULL)`)
    this.sql.exec('INSERT INTO segments (seq, collection, segment) VALUES (?, ?, ?)', seq, collection, segment(seq))
    this.setMeta('seq', String(seq + 1))
    this.nextSeq = seq + 1
    this.open.set(seq, { seq, collection, batches: 0, events: 0, bytes: 0, oldestAt: Infinity, hours: new Set() })
    this.current.set(collection, seq)
    return seq
  }

  /** The sequence number the next table takes. */
  peekSeq(): number {
    return this.nextSeq
  }

  /**
   * Stores one batch in its collection's current table (one row written; `fits` said it fits).
   * After this returns, the batch is durable (invariant durable-on-ack).
   */
  append(b: NewBatch): void {
    const t = this.open.get(this.current.get(b.collection)!)!
    this.sql.exec(`INSERT INTO ${table(t.seq)} (key, lines, events, bytes, min_time, max_time, at) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?)', b.key, b.lines, b.events, b.bytes, b.minTime, b.maxTime, b.at)
    this.keys.add(b.key)
    this.count(t, b.events, b.bytes, b.at, b.minTime, b.maxTime)
  }

  private count(t: OpenTable, events: number, bytes: number, at: number, minTime: number, maxTime: number) {
    t.batches++
    t.events += events
    t.bytes += bytes
    t.oldestAt = Math.min(t.oldestAt, at)
    for (const h of hoursOf(minTime, maxTime)) t.hours.add(h)
  }

  /** The tables no flush has recorded yet, oldest first, with what each holds. */
  unrecorded(): (Unflushed & { seq: number; collection: string; current: boolean })[] {
    return [...this.open.values()].sort((a, b) => a.seq - b.seq).map(t => ({
      seq: t.seq, collection: t.collection, batches: t.batches, events: t.events, bytes: t.bytes,
      oldestAt: t.oldestAt, current: this.current.get(t.collection) === t.seq,
    }))
  }

  /**
   * Records the flush of a table: its segment key is fixed from here on (a restart redoes the same
   * PUT under the same key: invariants crash-safe, exactly-once) and new batches go to a new table.
   */
  recordFlush(seq: number, keyOf: (segment: string, minTime: number, maxTime: number) => string): SegmentRecord {
    const r = this.records('all').find(x => x.seq === seq)!
    const range = this.sql.exec(`SELECT min(min_time) AS lo, max(max_time) AS hi FROM ${table(seq)}`).toArray()[0]!
    const key = keyOf(r.segment, range.lo as number, range.hi as number)
    this.sql.exec('UPDATE segments SET key = ? WHERE seq = ?', key, seq)
    this.open.delete(seq)
    if (this.current.get(r.collection) === seq) this.current.delete(r.collection)
    return { ...r, key }
  }

  records(where: 'all' | 'unstored' | 'stored' | 'dropped'): SegmentRecord[] {
    const cond = {
      all: '1', unstored: 'key IS NOT NULL AND stored_at IS NULL', stored: 'stored_at IS NOT NULL AND dropped = 0',
      dropped: 'dropped = 1',
    }[where]
    return this.sql.exec(`SELECT seq, collection, segment, key, stored_at, dropped FROM segments WHERE ${cond}
      ORDER BY seq`).toArray().map(r => ({
      seq: r.seq as number, collection: r.collection as string, segment: r.segment as string,
      key: r.key as string | null, storedAt: r.stored_at as number | null, dropped: r.dropped === 1,
    }))
  }

  /** What a table holds: its batches, events, bytes and the oldest batch's arrival. */
  size(seq: number): Unflushed {
    const r = this.sql.exec('SELECT count(*) AS n, sum(events) AS e, sum(bytes) AS b, min(at) AS a ' +
      `FROM ${table(seq)}`).toArray()[0]!
    return { batches: r.n as number, events: (r.e as number) ?? 0, bytes: (r.b as number) ?? 0,
      oldestAt: (r.a as number | null) ?? Infinity }
  }

  /** The WAL lines of a table, in arrival order: the same body however often it is rebuilt. */
  body(seq: number): string {
    const rows = this.sql.exec(`SELECT lines FROM ${table(seq)} ORDER BY rowid`).toArray()
    return rows.map(r => r.lines as string).join('')
  }

  markStored(seq: number, at: number): void {
    this.sql.exec('UPDATE segments SET stored_at = ? WHERE seq = ?', at, seq)
  }

  /** Drops a stored segment's table (its segment holds the batches); the record keeps their keys. Transaction. */
  drop(seq: number): void {
    const keys = this.sql.exec(`SELECT key FROM ${table(seq)}`).toArray().map(r => r.key as string)
    this.sql.exec(`DROP TABLE ${table(seq)}`)
    this.sql.exec('UPDATE segments SET dropped = 1, batch_keys = ? WHERE seq = ?', keys.join('\n'), seq)
  }

  /** Forgets a dropped segment once retries of its batches are no longer expected. */
  forget(seq: number): void {
    const keys = this.sql.exec('SELECT batch_keys FROM segments WHERE seq = ?', seq).toArray()[0]?.batch_keys
    for (const k of String(keys ?? '').split('\n')) this.keys.delete(k)
    this.sql.exec('DELETE FROM segments WHERE seq = ?', seq)
  }

  /**
   * The batches a read gets: those of a collection overlapping [from, to) that no flush has
   * stored, or one stored at or after `storedSince` (the reader's listing may predate it), each with
   * the id of the segment its table becomes once a flush is recorded.
   */
  read(collection: string, from: number, to: number, storedSince: number): BufferedBatch[] {
    const out: BufferedBatch[] = []
    for (const r of this.records('all')) {
      if (r.collection !== collection || r.dropped || (r.storedAt !== null && r.storedAt < storedSince)) continue
      const rows = this.sql.exec(`SELECT lines, min_time, max_time FROM ${table(r.seq)}
        WHERE max_time >= ? AND min_time < ? ORDER BY rowid`, from, to).toArray()
      for (const b of rows) {
        out.push({
          lines: b.lines as string, minTime: b.min_time as number, maxTime: b.max_time as number,
          segment: r.key === null ? null : r.segment,
        })
      }
    }
    return out
  }
}
