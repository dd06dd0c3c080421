import type { CollectionSchema } from './collection_schema.js'
import type { FieldSpec } from './field_types.js'
import { getPath } from './path.js'

/**
 * A row as the engine keeps it between the WAL and Parquet: plain JSON data,
 * timestamps as epoch milliseconds, every schema field present (null or []).
 */
export type StoredRow = Record<string, unknown>

export type Normalized = { ok: true; row: StoredRow } | { ok: false; reason: string }

const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z')

/**
 * Checks one input event against the schema and converts it to a StoredRow. Never throws: an
 * event whose getters throw, or whose values cannot be stored as they are, is rejected with the
 * reason (invariant nothing-dropped).
 */
export function normalizeRow(schema: CollectionSchema, input: unknown): Normalized {
  try {
    return normalizeObject(schema, input)
  } catch (e) {
    return { ok: false, reason: `could not be read: ${errorText(e)}` }
  }
}

const FIELD_NAMES = new WeakMap<CollectionSchema, ReadonlySet<string>>()

/** A schema's field names, built once per schema: normalizeRow runs for every event on the tail path. */
function fieldNames(schema: CollectionSchema): ReadonlySet<string> {
  let names = FIELD_NAMES.get(schema)
  if (!names) FIELD_NAMES.set(schema, names = new Set(schema.fields.map(f => f.name)))
  return names
}

function normalizeObject(schema: CollectionSchema, input: unknown): Normalized {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, reason: `expected an object, got ${describe(input)}` }
  }
  const src = input as Record<string, unknown>
  const known = fieldNames(schema)
  for (const key of Object.keys(src)) {
    if (!known.has(key) && src[key] !== undefined) {
      return { ok: false, reason: `unknown field ${JSON.stringify(key)}; ${schema.name} has ${[...known].join(', ')}` }
    }
  }
  const row: StoredRow = {}
  for (const field of schema.fields) {
    const result = normalizeField(field, Object.hasOwn(src, field.name) ? src[field.name] : undefined)
    if (typeof result === 'string') return { ok: false, reason: `${field.name}: ${result}` }
    row[field.name] = result.value
  }
  return { ok: true, row }
}

/**
 * Re-checks a row read back from the WAL against the current schema, cheaply: the row is
 * already plain JSON, so variant values are taken as they are; fields the schema no longer
 * has are dropped, and scalars are checked for type. For rows written before a schema change.
 */
export function recheckStoredRow(schema: CollectionSchema, row: StoredRow): Normalized {
  // A copy of the schema's row shape, every field already there: no map transition nor property
  // store growth per field (this runs for every row of a pass).
  const out: StoredRow = { ...rowShape(schema) }
  for (const field of schema.fields) {
    const v = row[field.name]
    if (field.type === 'variant' && !field.array) {
      if ((v === null || v === undefined) && field.required) {
        return { ok: false, reason: `${field.name}: is required (variant!) but missing` }
      }
      out[field.name] = v ?? null
      continue
    }
    if (field.type === 'variant' && Array.isArray(v)) { out[field.name] = v; continue }
    const stored = storedAsIs(field, v)
    if (stored !== NOT_AS_IS) { out[field.name] = stored; continue }
    const r = normalizeField(field, v)
    if (typeof r === 'string') return { ok: false, reason: `${field.name}: ${r}` }
    out[field.name] = r.value
  }
  return { ok: true, row: out }
}

const NOT_AS_IS = Symbol('not as is')

/**
 * A WAL value the schema takes as it is (what normalizeField would return, without its result
 * object: recheckStoredRow runs for every row of a pass), or NOT_AS_IS for normalizeField to
 * convert or explain. An array is kept, not copied: it comes fresh from JSON.parse.
 */
function storedAsIs(field: FieldSpec, v: unknown): unknown {
  if (v === undefined || v === null) return field.array ? [] : field.required ? NOT_AS_IS : null
  if (!field.array) return scalarAsIs(field.type, v) ? (v === 0 ? 0 : v) : NOT_AS_IS
  if (!Array.isArray(v)) return NOT_AS_IS
  for (let i = 0; i < v.length; i++) if (!scalarAsIs(field.type, v[i]) || v[i] === 0) return NOT_AS_IS
  return v
}

/** Whether normalizeScalar would return `v` itself (or 0 for -0). */
function scalarAsIs(type: FieldSpec['type'], v: unknown): boolean {
  switch (type) {
    case 'string': return typeof v === 'string' && isWellFormed(v)
    case 'int': return typeof v === 'number' && Number.isSafeInteger(v)
    case 'double': return typeof v === 'number' && Number.isFinite(v)
    case 'boolean': return typeof v === 'boolean'
    case 'timestamp': return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TIME
    case 'variant': return false
  }
}

const ROW_SHAPES = new WeakMap<CollectionSchema, StoredRow>()

/** An object with the schema's fields in order, all null: what recheckStoredRow copies and fills. */
function rowShape(schema: CollectionSchema): StoredRow {
  let shape = ROW_SHAPES.get(schema)
  if (!shape) {
    shape = {}
    for (const f of schema.fields) shape[f.name] = null
    ROW_SHAPES.set(schema, shape)
  }
  return shape
}

function normalizeField(field: FieldSpec, value: unknown): { value: unknown } | string {
  if (field.array) {
    if (value === undefined || value === null) return { value: [] }
    if (!Array.isArray(value)) return `expected an array, got ${describe(value)}`
    const out: unknown[] = []
    for (let i = 0; i < value.length; i++) {
      const r = normalizeScalar(field.type, value[i])
      if (typeof r === 'string') return `[${i}]: ${r}`
      out.push(r.value)
    }
    return { value: out }
  }
  if (value === undefined || value === null) {
    return field.required ? `is required (${field.type}!) but missing` : { value: null }
  }
  return normalizeScalar(field.type, value)
}

function normalizeScalar(type: FieldSpec['type'], value: unknown): { value: unknown } | string {
  switch (type) {
    case 'string':
      return typeof value !== 'string' ? `expected a string, got ${describe(value)}` : wellFormed(value) ?? { value }
    case 'int':
      if (typeof value === 'bigint') return bigintValue(value)
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? { value: value === 0 ? 0 : value }
        : `expected an integer, got ${describe(value)}`
    case 'double':
      return typeof value === 'number' && Number.isFinite(value)
        ? { value: value === 0 ? 0 : value }
        : `expected a finite number, got ${describe(value)}`
    case 'boolean':
      return typeof value === 'boolean' ? { value } : `expected a boolean, got ${describe(value)}`
    case 'timestamp': {
      const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value
        : typeof value === 'string' ? Date.parse(value) : NaN
      if (!Number.isFinite(ms)) {
        return `expected a Date, epoch milliseconds or an ISO date string, got ${describe(value)}`
      }
      if (ms < 0 || ms > MAX_TIME) return `${new Date(ms).toISOString()} is outside 1970-01-01 to 9999-12-31`
      return { value: Math.trunc(ms) }
    }
    case 'variant':
      return toJsonValue(value, 0)
  }
}

/** Nesting past this is refused: a variant deeper than this is almost surely a cycle. */
const MAX_DEPTH = 64

/**
 * A variant value as plain JSON that reads back equal from the WAL and from Parquet alike, or
 * the reason it cannot be stored. Nothing is dropped or re-encoded silently; the conversions
 * are the documented ones (docs/guarantees.md): a Date becomes its ISO string, an Error
 * `{ name, message, stack }` like the runtime's own exceptions, an object with `toJSON` (URL)
 * what that returns, NaN and ±Infinity null and -0 0 (as in JSON), `undefined` in an array
 * null, an `undefined` property absent.
 */
function toJsonValue(value: unknown, depth: number): { value: unknown } | string {
  if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels (or a cycle)`
  if (value === null || typeof value === 'boolean') return { value }
  if (typeof value === 'string') return wellFormed(value) ?? { value }
  if (typeof value === 'number') return { value: Number.isFinite(value) ? (value === 0 ? 0 : value) : null }
  if (typeof value === 'bigint') return bigintValue(value)
  if (typeof value !== 'object') return `cannot store a ${typeof value}`
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (let i = 0; i < value.length; i++) {
      const v = value[i]
      const r = v === undefined ? { value: null } : toJsonValue(v, depth + 1)
      if (typeof r === 'string') return where(depth, `[${i}]`, r)
      out.push(r.value)
    }
    return { value: out }
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? 'an invalid Date cannot be stored' : { value: value.toISOString() }
  }
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) {
    const tag = Object.prototype.toString.call(value).slice(8, -1)
    if (value instanceof Error || tag === 'Error') return toJsonValue(errorValue(value as Error), depth)
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return toJsonValue(toJSON.call(value), depth + 1)
    if (BOXED.has(tag)) return toJsonValue((value as { valueOf(): unknown }).valueOf(), depth)
    // Built-ins keep their data in internal slots or accessors, where JSON would see {}. Other
    // class instances (the runtime's FetchEventInfo, a user's class) are their own properties.
    if (SLOTTED.test(tag) || ArrayBuffer.isView(value) || (Object.keys(value).length === 0 && hasAccessors(proto))) {
      return `cannot store a ${tag}; convert it to a plain object, array or string first`
    }
  }
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k]
    if (v === undefined) continue
    if (k === '__proto__') {
      return 'the key "__proto__" cannot be stored (JavaScript readers would take it as the prototype)'
    }
    const badKey = wellFormed(k)
    if (badKey) return `key ${JSON.stringify(k)}: ${badKey}`
    const r = toJsonValue(v, depth + 1)
    if (typeof r === 'string') return where(depth, k, r)
    out[k] = r.value
  }
  return { value: out }
}

/** A reason with where it happened: the first levels of the path, enough to find it (a cycle repeats itself). */
function where(depth: number, key: string, reason: string): string {
  return depth < 8 ? `${key}: ${reason}` : reason
}

const BOXED = new Set(['Number', 'String', 'Boolean'])
/**
 * Built-ins whose data JSON cannot see. Host objects (fetch's Headers) are caught by their
 * accessors instead: the runtime's TraceItem classes share names like Request but are data.
 */
const SLOTTED = new RegExp('^(Map|Set|WeakMap|WeakSet|WeakRef|RegExp|Promise|ArrayBuffer|SharedArrayBuffer|DataView|' +
  'Blob|File|FormData|Headers|URLSearchParams|ReadableStream|WritableStream|Symbol|BigInt)$')

/** Whether an object's class exposes data through getters (a host object such as Headers). */
function hasAccessors(proto: unknown): boolean {
  for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as unknown) {
    for (const d of Object.values(Object.getOwnPropertyDescriptors(p))) if (d.get) return true
  }
  return false
}

/** An Error as the runtime's TraceItems carry exceptions: name, message, stack, plus its own data. */
function errorValue(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, message: e.message }
  if (typeof e.stack === 'string') out.stack = e.stack
  for (const k of Object.keys(e)) out[k] = (e as unknown as Record<string, unknown>)[k]
  if (e.cause !== undefined) out.cause = e.cause
  return out
}

function bigintValue(v: bigint): { value: number } | string {
  const n = Number(v)
  return Number.isSafeInteger(n)
    ? { value: n }
    : `the BigInt ${v} is outside ±2^53 and would lose digits as a number; store it as a string`
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** String.prototype.isWellFormed (ES2024: Node 20, workerd), which the ES2022 typings lack. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed()

/** Null for a well-formed string; else why not: a lone surrogate has no UTF-8 form, so Parquet would change it. */
function wellFormed(s: string): string | null {
  if (isWellFormed(s)) return null
  const m = LONE_SURROGATE.exec(s)
  if (!m) return null
  return `has a lone surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()}) at index ${m.index}, ` +
    'which UTF-8 cannot store'
}

function errorText(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  } catch {
    return 'an unprintable value'
  }
}

/** The value of a promoted column for a row, or null when the path is absent or of another type. */
export function promotedValue(
  row: StoredRow, path: readonly string[], type: 'string' | 'int' | 'double',
): string | number | null {
  return typedValue(getPath(row, path), type)
}

/** What a path holds as a promoted column of `type` takes it: the value, or null for another type. */
export function typedValue(v: unknown, type: 'string' | 'int' | 'double'): string | number | null {
  if (type === 'string') return typeof v === 'string' ? v : null
  if (type === 'int') return typeof v === 'number' && Number.isSafeInteger(v) ? v : null
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

/** StoredRow → what users see: timestamps become Dates. With `only`, just those fields. */
/** The visible fields a public row holds (of `only`, when given): computed once per schema and set. */
type Field = CollectionSchema['fields'][number]

function publicFields(schema: CollectionSchema, only?: ReadonlySet<string>): readonly Field[] {
  let bySet = publicFieldCache.get(schema)
  if (!bySet) publicFieldCache.set(schema, (bySet = new WeakMap()))
  const key = only ?? ALL_FIELDS
  let fields = bySet.get(key)
  if (!fields) bySet.set(key, (fields = schema.fields.filter(f => !f.hidden && (!only || only.has(f.name)))))
  return fields
}
const publicFieldCache = new WeakMap<CollectionSchema, WeakMap<ReadonlySet<string>, readonly Field[]>>()
const ALL_FIELDS: ReadonlySet<string> = new Set()

export function toPublicRow(
  schema: CollectionSchema, row: StoredRow, only?: ReadonlySet<string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of publicFields(schema, only)) {
    const v = row[f.name]
    if (f.type === 'timestamp') {
      out[f.name] = f.array
        ? (v as number[]).map(x => new Date(x))
        : v === null || v === undefined ? null : new Date(v as number)
    } else {
      out[f.name] = v === undefined ? (f.array ? [] : null) : v
    }
  }
  return out
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (v instanceof Date) return 'an invalid Date'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number') return `the number ${v}`
  return `a ${typeof v}`
}
