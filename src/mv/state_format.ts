import type { StoredRow } from '../schema/index.js'
import type { AggregateKind, AggregateSpec } from './aggregates.js'

/**
 * The stored form of aggregate states, versioned (docs/formats.md). One view file is written by
 * one build, so it holds states of one version, said once in the Parquet file's key/value
 * metadata: 26 bytes per file, where a version inside every state grew 400-group view files by
 * 134–589 bytes. A file without the entry was written before versions existed and is version 1,
 * the layout those builds wrote.
 */
export const STATE_FORMAT_KEY = 'parquedb.stateFormat'
/** The version this build writes. */
export const STATE_FORMAT_VERSION = 1
/** The versions this build reads. */
export const STATE_FORMATS_READ: readonly number[] = [1]

const FORMAT = 'aggregate state'

/**
 * A view file this build cannot read as it was meant: a format version it does not know (a
 * newer build wrote it), or a state that does not have its version's layout. Thrown rather
 * than guessing, so a reader never returns a wrong aggregate.
 */
export class StateFormatError extends Error {
  override name = 'StateFormatError'
  readonly format = FORMAT
  readonly reads = STATE_FORMATS_READ
  constructor(message: string, readonly source: string, readonly found: number | string) {
    super(message)
  }
}

/** The key/value metadata a writer puts on every file of aggregate states it writes. */
export function stateFileMetadata(): { key: string; value: string }[] {
  return [{ key: STATE_FORMAT_KEY, value: String(STATE_FORMAT_VERSION) }]
}

/**
 * The state format of a file, from its Parquet key/value metadata: 1 when it has none (written
 * before versions existed); a StateFormatError for a version this build does not read.
 */
export function stateFormatOf(kv: readonly { key: string; value?: string }[] | undefined, source: string): number {
  const entry = kv?.find(e => e.key === STATE_FORMAT_KEY)
  if (!entry) return 1
  const text = entry.value ?? ''
  const version = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : null
  if (version !== null && STATE_FORMATS_READ.includes(version)) return version
  throw unreadable(version ?? JSON.stringify(text), source)
}

function unreadable(found: number | string, source: string): StateFormatError {
  const advice = typeof found === 'number' && found > STATE_FORMAT_VERSION
    ? 'a newer parquedb wrote it: upgrade every reader and compactor of this bucket to that version'
    : 'parquedb never writes that: the file is damaged or another program wrote it; rebuild the view with recompact'
  return new StateFormatError(
    `${source}: ${FORMAT} format ${found} (metadata ${STATE_FORMAT_KEY}) is not one this build of parquedb reads ` +
    `(it reads ${STATE_FORMATS_READ.join(', ')}); ${advice}`, source, found)
}

/**
 * Stored state rows of `version` → the states the aggregates work on (aggregates.ts), checking
 * each state against its version's layout. Version 1 is also the in-memory form, so its rows
 * pass through unchanged once checked; a later version converts here. A missing state (the
 * aggregate was added after the file was written) stays missing: merging starts it empty.
 */
export function decodeStateRows(
  agg: { computes: readonly AggregateSpec[] }, rows: StoredRow[], version: number, source: string,
): StoredRow[] {
  if (!STATE_FORMATS_READ.includes(version)) throw unreadable(version, source)
  for (const row of rows) {
    for (const c of agg.computes) {
      const v = row[c.name]
      if (v === null || v === undefined) continue
      const problem = V1[c.kind](v)
      if (problem) {
        throw new StateFormatError(
          `${source}: column ${c.name} does not hold a ${c.kind} state of ${FORMAT} format ${version} (${problem}); ` +
          'the file is damaged or was not written by parquedb: rebuild the view with recompact',
          source, version)
      }
    }
  }
  return rows
}

/**
 * What a file reader applies to each row group of a view file of aggregate states: the file's
 * version from its key/value metadata, then `decodeStateRows`. `source` names the file in errors.
 */
export function stateRowDecoder(agg: { computes: readonly AggregateSpec[] }) {
  return (rows: StoredRow[], kv: readonly { key: string; value?: string }[] | undefined, source: string): StoredRow[] =>
    decodeStateRows(agg, rows, stateFormatOf(kv, source), source)
}

type Check = (v: unknown) => string | null

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** Field by field, what a state of each kind holds in version 1 (docs/formats.md). */
const fields = (spec: Record<string, Check>): Check => v => {
  if (!isObject(v)) return `expected an object with ${Object.keys(spec).join(', ')}, got ${describe(v)}`
  for (const [name, check] of Object.entries(spec)) {
    const problem = Object.hasOwn(v, name) ? check(v[name]) : 'missing'
    if (problem) return `${name}: ${problem}`
  }
  return null
}
const countField: Check = v => (count(v) ? null : `expected a count, got ${describe(v)}`)
const numberField: Check = v => (typeof v === 'number' ? null : `expected a number, got ${describe(v)}`)
const strings: Check = v =>
  (Array.isArray(v) && v.every(x => typeof x === 'string') ? null : `expected a list of strings, got ${describe(v)}`)
const buckets: Check = v => {
  if (!isObject(v)) return `expected bucket index → count, got ${describe(v)}`
  for (const [k, c] of Object.entries(v)) {
    if (!/^-?[0-9]+$/.test(k)) return `bucket ${JSON.stringify(k)} is not an integer index`
    if (!count(c)) return `bucket ${k}: expected a count, got ${describe(c)}`
  }
  return null
}

const V1: Record<AggregateKind, Check> = {
  count: countField,
  sum: fields({ s: numberField, n: countField }),
  avg: fields({ s: numberField, n: countField }),
  min: fields({ v: () => null }),
  max: fields({ v: () => null }),
  countDistinct: fields({ d: strings }),
  percentile: fields({ b: buckets, z: countField, n: buckets, count: countField }),
}

/** A stored value in an error message: its kind, and a short scalar as it is. */
function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  return `the ${typeof v} ${JSON.stringify(String(v).slice(0, 40))}`
}
