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

/** Checks one input event against the schema and converts it to a StoredRow. */
export function normalizeRow(schema: CollectionSchema, input: unknown): Normalized {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, reason: `expected an object, got ${describe(input)}` }
  }
  const src = input as Record<string, unknown>
  const known = new Set(schema.fields.map(f => f.name))
  for (const key of Object.keys(src)) {
    if (!known.has(key) && src[key] !== undefined) return { ok: false, reason: `unknown field ${JSON.stringify(key)}; ${schema.name} has ${[...known].join(', ')}` }
  }
  const row: StoredRow = {}
  for (const field of schema.fields) {
    const result = normalizeField(field, src[field.name])
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
  const out: StoredRow = {}
  for (const field of schema.fields) {
    const v = row[field.name]
    if (field.type === 'variant' && !field.array) {
      if ((v === null || v === undefined) && field.required) return { ok: false, reason: `${field.name}: is required (variant!) but missing` }
      out[field.name] = v ?? null
      continue
    }
    if (field.type === 'variant' && Array.isArray(v)) { out[field.name] = v; continue }
    const r = normalizeField(field, v)
    if (typeof r === 'string') return { ok: false, reason: `${field.name}: ${r}` }
    out[field.name] = r.value
  }
  return { ok: true, row: out }
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
      return typeof value === 'string' ? { value } : `expected a string, got ${describe(value)}`
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) ? { value } : `expected an integer, got ${describe(value)}`
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? { value } : `expected a finite number, got ${describe(value)}`
    case 'boolean':
      return typeof value === 'boolean' ? { value } : `expected a boolean, got ${describe(value)}`
    case 'timestamp': {
      const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN
      if (!Number.isFinite(ms)) return `expected a Date, epoch milliseconds or an ISO date string, got ${describe(value)}`
      if (ms < 0 || ms > MAX_TIME) return `${new Date(ms).toISOString()} is outside 1970-01-01 to 9999-12-31`
      return { value: Math.trunc(ms) }
    }
    case 'variant':
      return toJsonValue(value, 0)
  }
}

/** Variant values must survive JSON and Parquet VARIANT alike: no functions, cycles, or non-finite numbers. */
function toJsonValue(value: unknown, depth: number): { value: unknown } | string {
  if (depth > 64) return 'nested deeper than 64 levels'
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return { value }
  if (typeof value === 'number') return Number.isFinite(value) ? { value } : { value: null }
  if (typeof value === 'bigint') return { value: Number(value) }
  if (value instanceof Date) return { value: value.toISOString() }
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (const v of value) {
      const r = v === undefined ? { value: null } : toJsonValue(v, depth + 1)
      if (typeof r === 'string') return r
      out.push(r.value)
    }
    return { value: out }
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue
      const r = toJsonValue(v, depth + 1)
      if (typeof r === 'string') return `${k}: ${r}`
      out[k] = r.value
    }
    return { value: out }
  }
  return `cannot store a ${typeof value}`
}

/** The value of a promoted column for a row, or null when the path is absent or of another type. */
export function promotedValue(row: StoredRow, path: readonly string[], type: 'string' | 'int' | 'double'): string | number | null {
  const v = getPath(row, path)
  if (type === 'string') return typeof v === 'string' ? v : null
  if (type === 'int') return typeof v === 'number' && Number.isSafeInteger(v) ? v : null
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

/** StoredRow → what users see: timestamps become Dates. With `only`, just those fields. */
export function toPublicRow(schema: CollectionSchema, row: StoredRow, only?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of schema.fields) {
    if (f.hidden || (only && !only.has(f.name))) continue
    const v = row[f.name]
    if (f.type === 'timestamp') {
      out[f.name] = f.array ? (v as number[]).map(x => new Date(x)) : v === null || v === undefined ? null : new Date(v as number)
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
