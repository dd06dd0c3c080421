/**
 * What one compaction step did to the manifest, as plain data, and the one function that applies
 * it (LevelDB's VersionEdit and LogAndApply). Steps describe; `applyEdit` enforces what every
 * change must respect, so no step can forget to send a replaced file to garbage (safe-gc) or leave
 * a finished recompact entry behind.
 */
import { ManifestError } from './manifest_store.js'
import {
  type ConsumedSegment, type DataFile, type Manifest, type PendingRecompact, type PublishedTable, type ViewState,
  referencedKeys,
} from './manifest.js'

/** One collection's or view's part of an edit. */
export interface CollectionEdit {
  /** Files the step wrote; none may already be referenced. */
  added?: DataFile[]
  /** Keys of files the step replaced or expired; each must be live, and goes to garbage. */
  removed?: string[]
  /** WAL segments folded into `added` (or quarantined in place); stamped with the commit time. */
  consumed?: Omit<ConsumedSegment, 'at'>[]
  /** Keys of pending files (a scheduled view's deltas) that become visible. */
  published?: string[]
  /** Retention dropped rows before this time; the mark only moves forward. */
  expiredBefore?: number
  /** The whole collection goes (a dropped view past its grace): every file to garbage, its queue entry too. */
  drop?: boolean
}

/** A change to one collection's recompact queue entry. */
export interface QueueEdit {
  collection: string
  /** Partitions finished or no longer wanted. Finishing the first one clears `written`. */
  done?: string[]
  /** Partitions to rewrite, merged into the entry (a new entry is requested at the commit time). */
  added?: string[]
  /** Start the entry over with `added` (a view redefined), instead of merging into it. */
  replace?: boolean
  redefine?: boolean
  /** Files a rewrite in several steps has written so far for the entry's first partition. */
  written?: string[]
}

export interface ManifestEdit {
  collections?: Record<string, CollectionEdit>
  queue?: QueueEdit[]
  /** A view's new state, whole; null forgets the view. */
  views?: Record<string, ViewState | null>
  /** The orphan sweep's cursors, replacing the previous ones whole. */
  sweep?: Record<string, string>
  /** Keys deleted from storage: they leave the garbage and consumed lists (safe-gc). */
  deleted?: string[]
  /** Published Iceberg tables' new states, whole; null forgets one. */
  tables?: Record<string, PublishedTable | null>
  /** Objects no longer referenced (expired snapshots' metadata), to garbage stamped with the commit time. */
  garbage?: string[]
}

/** An edit that contradicts the manifest it is applied to; the message names the key. */
export class ManifestEditError extends ManifestError {
  override name = 'ManifestEditError'
}

/**
 * The edit was built on another manifest than the one it is applied to (it removes or publishes a
 * file that is not there): a step must build and apply against one loaded manifest.
 */
export class StaleEditError extends ManifestEditError {
  override name = 'StaleEditError'
}

/**
 * Returns the manifest after `edit`, leaving `manifest` untouched. Enforces: a removed file is live
 * and goes to garbage stamped `now` (safe-gc); nothing is referenced twice (exactly-once); a consumed
 * segment is stamped `now`, so its grace period starts at the commit; empty queue entries drop
 * (bounded-work); the version moves by one (single-winner compares it).
 */
export function applyEdit(manifest: Manifest, edit: ManifestEdit, now: number): Manifest {
  const next = structuredClone(manifest)
  const referenced = referencedKeys(next)
  const reference = (key: string, what: string) => {
    if (referenced.has(key)) {
      throw new ManifestEditError(`${what} ${key} is already referenced by manifest version ${manifest.version}; ` +
        'an edit adds each key once')
    }
    referenced.add(key)
  }
  for (const [name, c] of Object.entries(edit.collections ?? {})) {
    const st = (next.collections[name] ??= { files: [], consumed: [] })
    const live = new Map(st.files.map(f => [f.key, f]))
    for (const key of c.removed ?? []) {
      if (!live.delete(key)) throw stale(manifest, `${name}: removes ${key}`)
      next.garbage.push({ key, since: now, version: manifest.version + 1 })
    }
    for (const key of c.published ?? []) {
      const f = live.get(key)
      if (!f) throw stale(manifest, `${name}: publishes ${key}`)
      delete f.pending
    }
    for (const f of c.added ?? []) {
      reference(f.key, `${name}: added file`)
      live.set(f.key, f)
    }
    st.files = [...live.values()]
    for (const s of c.consumed ?? []) {
      reference(s.key, `${name}: consumed segment`)
      st.consumed.push({ ...s, at: now })
    }
    if (c.expiredBefore !== undefined) st.expiredBefore = Math.max(st.expiredBefore ?? -Infinity, c.expiredBefore)
    if (c.drop) dropCollection(next, name, now)
  }
  for (const q of edit.queue ?? []) applyQueueEdit(next, q, now)
  next.recompact = next.recompact.filter(r => r.partitions.length)
  if (edit.views && Object.keys(edit.views).length) {
    next.views ??= {}
    for (const [name, state] of Object.entries(edit.views)) {
      if (state) next.views[name] = state
      else delete next.views[name]
    }
  }
  if (edit.sweep) next.sweep = { ...edit.sweep }
  for (const [name, table] of Object.entries(edit.tables ?? {})) {
    next.tables ??= {}
    if (table) next.tables[name] = table
    else delete next.tables[name]
  }
  for (const key of edit.garbage ?? []) next.garbage.push({ key, since: now, version: manifest.version + 1 })
  if (edit.deleted?.length) {
    const gone = new Set(edit.deleted)
    next.garbage = next.garbage.filter(g => !gone.has(g.key))
    for (const c of Object.values(next.collections)) c.consumed = c.consumed.filter(s => !gone.has(s.key))
  }
  next.version = manifest.version + 1
  next.updatedAt = now
  return next
}

function stale(m: Manifest, what: string): StaleEditError {
  return new StaleEditError(`${what}, which manifest version ${m.version} does not hold: the edit was built on ` +
    'another version; build and apply it against the same loaded manifest')
}

function dropCollection(m: Manifest, name: string, now: number): void {
  const st = m.collections[name]
  if (!st) return
  const kept = st.consumed.filter(s => s.quarantined)
  // A segment quarantined in place waits for an operator; dropping its record would lose it (nothing-dropped).
  if (kept.length) {
    throw new ManifestEditError(`${name}: cannot drop a collection holding ${kept.length} quarantined segment(s), ` +
      `e.g. ${kept[0]!.key}; replay and delete them first`)
  }
  m.garbage.push(...[...st.files, ...st.consumed].map(o => ({ key: o.key, since: now, version: m.version + 1 })))
  delete m.collections[name]
  m.recompact = m.recompact.filter(r => r.collection !== name)
}

function applyQueueEdit(m: Manifest, q: QueueEdit, now: number): void {
  if (q.replace) m.recompact = m.recompact.filter(r => r.collection !== q.collection)
  let entry: PendingRecompact | undefined = m.recompact.find(r => r.collection === q.collection)
  if (q.added?.length) {
    if (entry) entry.partitions = [...new Set([...entry.partitions, ...q.added])].sort()
    else {
      entry = { collection: q.collection, partitions: [...new Set(q.added)].sort(), requestedAt: now }
      m.recompact.push(entry)
    }
  }
  if (!entry) {
    if (q.written?.length) throw stale(m, `${q.collection}: records files written for its recompact entry`)
    return
  }
  if (q.redefine) entry.redefine = true
  if (q.written?.length) entry.written = [...(entry.written ?? []), ...q.written]
  if (q.done?.length) {
    const done = new Set(q.done)
    // `written` belongs to the first partition: it ends with it.
    if (done.has(entry.partitions[0]!)) delete entry.written
    entry.partitions = entry.partitions.filter(p => !done.has(p))
  }
}
