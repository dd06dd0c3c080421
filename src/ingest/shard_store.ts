import { MAX_SEGMENT_BYTES, MAX_SEGMENT_PARTITIONS, type BufferedBatch } from '../wal/index.js'
import { PARTITION_MS } from '../storage/index.js'

/** The SQL API of a SQLite-backed Durable Object (`ctx.storage.sql`), as far as the shard uses it. */
export interface Sql {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[]; readonly rowsWritten: number }
}

/** A batch as a shard stores it: one SQLite row, written before the append is acknowledged. */
export interface StoredBatch {
  id: number
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
 * A flush: the batches of one collection in ids [firstId, lastId], written as ONE WAL segment
 * whose key is fixed (recorded here) before its PUT. `storedAt` is set once the PUT succeeded,
 * `dropped` once the batches are deleted; the record outlives them for REMEMBER_KEYS_MS so a
 * retried batch is still recognised.
 */
export interface FlushRecord {
  seq: number
  collection: string
  firstId: number
  lastId: number
  key: string
  segment: string
  storedAt: number | null
  dropped: boolean
}

/** What a shard holds of one collection and has not yet put in a flush. */
export interface Unflushed {
  batches: number
  events: number
  bytes: number
  oldestAt: number
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, collection TEXT NOT NULL, key TEXT NOT NULL,
    lines TEXT NOT NULL, events INTEGER NOT NULL, bytes INTEGER NOT NULL, min_time INTEGER NOT NULL,
    max_time INTEGER NOT NULL, at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS flushes (seq INTEGER PRIMARY KEY, collection TEXT NOT NULL, first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL, key TEXT NOT NULL, segment TEXT NOT NULL, batch_keys TEXT NOT NULL,
    stored_at INTEGER, dropped INTEGER NOT NULL DEFAULT 0)`,
  'CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
]

/**
 * A shard's storage: SQLite tables for batches, flushes and settings, and the counters a shard
 * keeps in memory (rebuilt from the tables when the object starts) so an append reads no rows.
 * Every change is a single SQL statement or runs inside one transaction of the caller's.
 */
export class ShardStore {
  private nextId = 1
  private nextSeq = 1
  /** Per collection: the last batch id a flush has taken. */
  private flushedThrough = new Map<string, number>()
  private unflushed = new Map<string, Unflushed>()
  /** Keys of the batches held or flushed within REMEMBER_KEYS_MS: a retry of one stores nothing. */
  private keys = new Set<string>()

  /** SQLite rows this store has written since it opened, as SQLite counts them (what is billed). */
  rowsWritten = 0
  private readonly sql: Sql

  constructor(raw: Sql) {
    this.sql = {
      exec: (query, ...bindings) => {
        const cursor = raw.exec(query, ...bindings)
        const rows = cursor.toArray()
        this.rowsWritten += cursor.rowsWritten
        return { toArray: () => rows, rowsWritten: cursor.rowsWritten }
      },
    }
    const sql = this.sql
    for (const s of SCHEMA) sql.exec(s)
    const maxId = (sql.exec('SELECT max(id) AS m FROM batches').toArray()[0]?.m as number | null) ?? 0
    const maxLast = (sql.exec('SELECT max(last_id) AS m FROM flushes').toArray()[0]?.m as number | null) ?? 0
    this.nextId = Math.max(maxId, maxLast) + 1
    const seq = this.meta('seq')
    this.nextSeq = seq ? Number(seq) : 1
    for (const r of sql.exec('SELECT collection, max(last_id) AS m, group_concat(batch_keys, \'\n\') AS k ' +
      'FROM flushes GROUP BY collection').toArray()) {
      this.flushedThrough.set(r.collection as string, r.m as number)
      for (const k of (r.k as string).split('\n')) if (k) this.keys.add(k)
    }
    for (const r of sql.exec('SELECT id, collection, key, events, bytes, at FROM batches ORDER BY id').toArray()) {
      this.keys.add(r.key as string)
      if ((r.id as number) > (this.flushedThrough.get(r.collection as string) ?? 0)) {
        this.count(r.collection as string, r.events as number, r.bytes as number, r.at as number)
      }
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

  /** Stores one batch (one row written): after this returns, the batch is durable (invariant durable-on-ack). */
  append(b: Omit<StoredBatch, 'id'>): number {
    const id = this.nextId
    this.sql.exec('INSERT INTO batches (id, collection, key, lines, events, bytes, min_time, max_time, at) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', id, b.collection, b.key, b.lines, b.events, b.bytes, b.minTime,
    b.maxTime, b.at)
    this.nextId++
    this.keys.add(b.key)
    this.count(b.collection, b.events, b.bytes, b.at)
    return id
  }

  private count(collection: string, events: number, bytes: number, at: number) {
    const u = this.unflushed.get(collection) ?? { batches: 0, events: 0, bytes: 0, oldestAt: at }
    u.batches++
    u.events += events
    u.bytes += bytes
    u.oldestAt = Math.min(u.oldestAt, at)
    this.unflushed.set(collection, u)
  }

  /** Per collection, what no flush has taken yet. */
  pending(): ReadonlyMap<string, Unflushed> {
    return this.unflushed
  }

  /**
   * The batches of the next flush of a collection: the oldest not yet taken, as many as fit
   * one segment of at most `maxBytes` (and MAX_SEGMENT_BYTES, MAX_SEGMENT_PARTITIONS hours);
   * at least one batch. Empty when nothing is waiting.
   */
  nextFlush(collection: string, maxBytes: number): StoredBatch[] {
    const after = this.flushedThrough.get(collection) ?? 0
    const limit = Math.min(maxBytes, MAX_SEGMENT_BYTES)
    const out: StoredBatch[] = []
    const hours = new Set<number>()
    let bytes = 0
    const rows = this.sql.exec('SELECT id, key, lines, events, bytes, min_time, max_time, at FROM batches ' +
      'WHERE collection = ? AND id > ? ORDER BY id', collection, after).toArray()
    for (const r of rows) {
      const more = new Set(hours)
      const last = Math.floor((r.max_time as number) / PARTITION_MS)
      for (let h = Math.floor((r.min_time as number) / PARTITION_MS); h <= last; h++) more.add(h)
      if (out.length && (bytes + (r.bytes as number) > limit || more.size > MAX_SEGMENT_PARTITIONS)) break
      for (const h of more) hours.add(h)
      bytes += r.bytes as number
      out.push({
        id: r.id as number, collection, key: r.key as string, lines: r.lines as string, events: r.events as number,
        bytes: r.bytes as number, minTime: r.min_time as number, maxTime: r.max_time as number, at: r.at as number,
      })
    }
    return out
  }

  /** The sequence number the next flush takes; never reused (the meta row keeps it across restarts). */
  peekSeq(): number {
    return this.nextSeq
  }

  /**
   * Records a flush before its PUT: its segment key is fixed from here on, so a restart redoes the
   * same PUT under the same key (invariants crash-safe, exactly-once). Run inside a transaction.
   */
  recordFlush(f: Omit<FlushRecord, 'storedAt' | 'dropped'>, batches: readonly StoredBatch[]): void {
    this.sql.exec('INSERT INTO flushes (seq, collection, first_id, last_id, key, segment, batch_keys) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?)', f.seq, f.collection, f.firstId, f.lastId, f.key, f.segment,
    batches.map(b => b.key).join('\n'))
    this.setMeta('seq', String(f.seq + 1))
    this.nextSeq = f.seq + 1
    this.flushedThrough.set(f.collection, f.lastId)
    const taken = batches.reduce((a, b) => ({ events: a.events + b.events, bytes: a.bytes + b.bytes }),
      { events: 0, bytes: 0 })
    const u = this.unflushed.get(f.collection)
    if (u) {
      u.batches -= batches.length
      u.events -= taken.events
      u.bytes -= taken.bytes
      if (u.batches <= 0) this.unflushed.delete(f.collection)
      else u.oldestAt = this.oldestAfter(f.collection, f.lastId) ?? u.oldestAt
    }
  }

  private oldestAfter(collection: string, id: number): number | null {
    return (this.sql.exec('SELECT min(at) AS m FROM batches WHERE collection = ? AND id > ?', collection, id)
      .toArray()[0]?.m as number | null) ?? null
  }

  flushes(where: 'unstored' | 'stored' | 'dropped'): FlushRecord[] {
    const cond = where === 'unstored' ? 'stored_at IS NULL' : where === 'stored' ? 'stored_at IS NOT NULL AND ' +
      'dropped = 0' : 'dropped = 1'
    return this.sql.exec(`SELECT seq, collection, first_id, last_id, key, segment, stored_at, dropped FROM flushes
      WHERE ${cond} ORDER BY seq`).toArray().map(r => ({
      seq: r.seq as number, collection: r.collection as string, firstId: r.first_id as number,
      lastId: r.last_id as number, key: r.key as string, segment: r.segment as string,
      storedAt: r.stored_at as number | null, dropped: r.dropped === 1,
    }))
  }

  /** The WAL lines of a recorded flush, in batch order: the same body however often it is rebuilt. */
  flushBody(f: FlushRecord): string {
    return this.sql.exec('SELECT lines FROM batches WHERE collection = ? AND id BETWEEN ? AND ? ORDER BY id',
      f.collection, f.firstId, f.lastId).toArray().map(r => r.lines as string).join('')
  }

  /** What a recorded flush holds: its batches, events, bytes and the oldest batch's arrival. */
  flushSize(f: FlushRecord): Unflushed {
    const r = this.sql.exec('SELECT count(*) AS n, sum(events) AS e, sum(bytes) AS b, min(at) AS a FROM batches ' +
      'WHERE collection = ? AND id BETWEEN ? AND ?', f.collection, f.firstId, f.lastId).toArray()[0]!
    return { batches: r.n as number, events: (r.e as number) ?? 0, bytes: (r.b as number) ?? 0,
      oldestAt: (r.a as number | null) ?? Infinity }
  }

  markStored(seq: number, at: number): void {
    this.sql.exec('UPDATE flushes SET stored_at = ? WHERE seq = ?', at, seq)
  }

  /** Deletes a stored flush's batches (its segment holds them); the record stays to recognise retries. */
  drop(f: FlushRecord): void {
    this.sql.exec('DELETE FROM batches WHERE collection = ? AND id BETWEEN ? AND ?', f.collection, f.firstId, f.lastId)
    this.sql.exec('UPDATE flushes SET dropped = 1 WHERE seq = ?', f.seq)
  }

  /** Forgets a dropped flush once retries of its batches are no longer expected. */
  forget(f: FlushRecord): void {
    const keys = this.sql.exec('SELECT batch_keys FROM flushes WHERE seq = ?', f.seq).toArray()[0]?.batch_keys
    for (const k of String(keys ?? '').split('\n')) this.keys.delete(k)
    this.sql.exec('DELETE FROM flushes WHERE seq = ?', f.seq)
  }

  /**
   * The batches a read gets: those overlapping [from, to) that no flush has stored, or one stored
   * at or after `storedSince` (the reader's listing may predate it), each with the id of the
   * segment its flush writes.
   */
  read(collection: string, from: number, to: number, storedSince: number): BufferedBatch[] {
    return this.sql.exec(`SELECT b.lines, b.min_time, b.max_time, f.segment FROM batches b
      LEFT JOIN flushes f ON f.collection = b.collection AND b.id BETWEEN f.first_id AND f.last_id
      WHERE b.collection = ? AND b.max_time >= ? AND b.min_time < ? AND (f.stored_at IS NULL OR f.stored_at >= ?)
      ORDER BY b.id`, collection, from, to, storedSince).toArray().map(r => ({
      lines: r.lines as string, minTime: r.min_time as number, maxTime: r.max_time as number,
      segment: (r.segment as string | null) ?? null,
    }))
  }
}
