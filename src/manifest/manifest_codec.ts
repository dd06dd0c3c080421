/**
 * The manifest's stored form. Every commit replaces the whole object (compare-and-swap), so its
 * size is what each commit writes and each query plan reads. Format 1 is the Manifest object as
 * JSON; format 2 encodes the same model compactly and is what commits write: a data file is a row
 * `[key, partition, level, rows, bytes, minTime, maxTime, createdAt, stats, pending, promoted]` whose column
 * statistics are cells in the order of its collection's `columns`, keys of files and of consumed
 * segments lose their collection's common prefix, and what a key already says (its partition, its
 * creation time) is left out: a file's record takes about half the bytes. Both formats are read;
 * the model in memory is the same (docs/formats.md).
 */
import { createdAtOfKey, partitionOfKey } from '../storage/index.js'
import type {
  CollectionState, ColumnStats, ColumnValue, ConsumedSegment, DataFile, GarbageEntry, Manifest,
} from './manifest.js'

/** The format commits write. */
export const MANIFEST_FORMAT = 2

/**
 * One column's statistics: absent (null), `[min, max]` (no nulls), `[min, max, nulls]` or
 * `[min, max, nulls, misfits]` (misfits kept as stored, 0 included: pruning trusts only 0).
 */
type StatsCell = null | [ColumnValue, ColumnValue] | [ColumnValue, ColumnValue, number]
  | [ColumnValue, ColumnValue, number, number]

/**
 * A data file. `partition` is null when it is the key's folder (`…/dt=…/hour=…/name`), `createdAt`
 * null when the key's name carries it; `pending` is 1 for a scheduled view's delta (0 or absent
 * otherwise); `promoted`, the file's promotion digest, is present only when it is not its
 * collection's usual one (`""` for a file without one).
 */
type FileRow = [string, string | null, 0 | 1, number, number, number, number, number | null, StatsCell[], (0 | 1)?,
  string?]

/** A consumed segment: key past the prefix, commit time, and the quarantine reason if any. */
type SegmentRow = [string, number] | [string, number, string]

interface StoredCollection extends Omit<CollectionState, 'files' | 'consumed'> {
  /** The columns whose statistics the file rows hold, in their cells' order. */
  columns: string[]
  /** What every file key starts with; rows hold the rest. */
  keyPrefix: string
  /** The promotion digest most files have; a row names its own only when it differs. */
  promoted?: string
  /** File rows, or a file as an object when it has fields a row does not hold. */
  files: (FileRow | DataFile)[]
  consumedPrefix: string
  consumed: SegmentRow[]
}

type GarbageRow = [string, number] | [string, number, number]

interface StoredManifest extends Omit<Manifest, 'format' | 'collections' | 'garbage'> {
  format: 2
  collections: Record<string, StoredCollection>
  garbage: GarbageRow[]
}

const FILE_FIELDS = new Set(['key', 'partition', 'level', 'rows', 'bytes', 'minTime', 'maxTime', 'createdAt', 'stats',
  'pending', 'promoted'])
const STATS_FIELDS = new Set(['min', 'max', 'nulls', 'misfits'])

/** The manifest as format 2, ready for JSON.stringify. */
export function encodeManifest(m: Manifest): StoredManifest {
  const { format: _format, collections, garbage, ...rest } = m
  const out: Record<string, StoredCollection> = {}
  for (const [name, c] of Object.entries(collections)) out[name] = encodeCollection(c)
  return {
    format: MANIFEST_FORMAT, ...rest, collections: out,
    garbage: garbage.map(g => (g.version === undefined ? [g.key, g.since] : [g.key, g.since, g.version])),
  }
}

/** A manifest's format is not one this version reads (written by a newer version). */
export class UnknownManifestFormat extends Error {
  override name = 'UnknownManifestFormat'
}

/**
 * A parsed manifest object of format 1 or 2 as the model (format 1 in memory). Throws
 * UnknownManifestFormat for another format, and TypeError for a format-2 object that is malformed.
 */
export function decodeManifest(parsed: unknown): Manifest {
  const raw = parsed as { format?: unknown }
  if (raw?.format === 1) return parsed as Manifest
  if (raw?.format !== MANIFEST_FORMAT) {
    throw new UnknownManifestFormat(`format ${String(raw?.format)}; this version of parquedb reads formats 1 and 2`)
  }
  const { format: _format, collections, garbage, ...rest } = parsed as StoredManifest
  const out: Record<string, CollectionState> = {}
  for (const [name, c] of Object.entries(collections)) out[name] = decodeCollection(c)
  return {
    format: 1, ...rest, collections: out,
    garbage: garbage.map(([key, since, version]): GarbageEntry =>
      (version === undefined ? { key, since } : { key, since, version })),
  }
}

function encodeCollection(c: CollectionState): StoredCollection {
  const { files, consumed, ...rest } = c
  const columns: string[] = []
  const index = new Map<string, number>()
  for (const f of files) {
    for (const col of Object.keys(f.stats)) if (!index.has(col)) index.set(col, columns.push(col) - 1)
  }
  const keyPrefix = commonPrefix(files.map(f => f.key))
  const consumedPrefix = commonPrefix(consumed.map(s => s.key))
  const promoted = mostCommon(files.map(f => f.promoted))
  return {
    ...rest, columns, keyPrefix, ...(promoted !== undefined ? { promoted } : {}),
    files: files.map(f => encodeFile(f, keyPrefix, index, promoted)),
    consumedPrefix,
    consumed: consumed.map(s => {
      const key = s.key.slice(consumedPrefix.length)
      return s.quarantined === undefined ? [key, s.at] : [key, s.at, s.quarantined]
    }),
  }
}

function decodeCollection(c: StoredCollection): CollectionState {
  const { columns, keyPrefix, promoted, files, consumedPrefix, consumed, ...rest } = c
  return {
    ...rest,
    files: files.map(f => (Array.isArray(f) ? decodeFile(f, keyPrefix, columns, promoted) : f)),
    consumed: consumed.map(([key, at, quarantined]): ConsumedSegment =>
      (quarantined === undefined ? { key: consumedPrefix + key, at } : { key: consumedPrefix + key, at, quarantined })),
  }
}

function encodeFile(
  f: DataFile, keyPrefix: string, index: Map<string, number>, promoted: string | undefined,
): FileRow | DataFile {
  // A field this encoding does not know (or a stats entry with one) keeps the file whole.
  if (Object.keys(f).some(k => !FILE_FIELDS.has(k)) || (f.pending !== undefined && f.pending !== true)) return f
  const stats: StatsCell[] = new Array<StatsCell>(index.size).fill(null)
  for (const [col, s] of Object.entries(f.stats)) {
    if (Object.keys(s).some(k => !STATS_FIELDS.has(k)) || typeof s.nulls !== 'number') return f
    stats[index.get(col)!] = s.misfits !== undefined ? [s.min, s.max, s.nulls, s.misfits]
      : s.nulls !== 0 ? [s.min, s.max, s.nulls] : [s.min, s.max]
  }
  while (stats.length && stats[stats.length - 1] === null) stats.pop()
  const row: FileRow = [
    f.key.slice(keyPrefix.length), partitionOfKey(f.key) === f.partition ? null : f.partition, f.level, f.rows,
    f.bytes, f.minTime, f.maxTime, createdAtOfKey(f.key) === f.createdAt ? null : f.createdAt, stats,
  ]
  if (f.promoted !== promoted) row.push(f.pending ? 1 : 0, f.promoted ?? '')
  else if (f.pending) row.push(1)
  return row
}

/** The value most entries have (undefined counts too); ties go to the first seen. */
function mostCommon(values: readonly (string | undefined)[]): string | undefined {
  const counts = new Map<string | undefined, number>()
  let best: string | undefined
  let top = 0
  for (const v of values) {
    const n = (counts.get(v) ?? 0) + 1
    counts.set(v, n)
    if (n > top) { top = n; best = v }
  }
  return best
}

function decodeFile(row: FileRow, keyPrefix: string, columns: string[], usual: string | undefined): DataFile {
  const [rest, partition, level, rows, bytes, minTime, maxTime, createdAt, cells, pending, own] = row
  const key = keyPrefix + rest
  const stats: Record<string, ColumnStats> = {}
  for (const [i, cell] of cells.entries()) {
    if (!cell) continue
    const [min, max, nulls = 0, misfits] = cell
    stats[columns[i]!] = misfits === undefined ? { min, max, nulls } : { min, max, nulls, misfits }
  }
  const file: DataFile = {
    key, partition: partition ?? partitionOfKey(key), level, rows, bytes, minTime, maxTime,
    createdAt: createdAt ?? createdAtOfKey(key)!, stats,
  }
  if (pending) file.pending = true
  const promoted = own !== undefined ? own || undefined : usual
  if (promoted !== undefined) file.promoted = promoted
  return file
}

function commonPrefix(keys: readonly string[]): string {
  if (!keys.length) return ''
  let prefix = keys[0]!
  for (const k of keys) {
    let n = 0
    while (n < prefix.length && n < k.length && prefix.charCodeAt(n) === k.charCodeAt(n)) n++
    prefix = prefix.slice(0, n)
  }
  // Cut at a folder: keys stay readable in the stored JSON.
  return prefix.slice(0, prefix.lastIndexOf('/') + 1)
}
