import { type FieldSpec, SchemaError, parseFieldType } from './field_types.js'

/** A nested path promoted to its own typed Parquet column, for statistics and fast reads. */
export interface PromotedColumn {
  name: string
  path: string[]
  type: 'string' | 'int' | 'double'
}

export interface CollectionSchema {
  name: string
  typeName: string
  fields: FieldSpec[]
  /** The timestamp field partitions are cut by and rows are sorted on. */
  timeField: string
  ingest?: 'tail'
  promoted: PromotedColumn[]
}

const KNOWN_META = new Set(['$type', '$ingest', '$timeField', '$promote'])

/** Is this definition a collection (as opposed to a view, which has `$from`)? */
export function isCollectionDefinition(def: unknown): boolean {
  return typeof def === 'object' && def !== null && !('$from' in def)
}

export function compileCollection(name: string, def: Record<string, unknown>): CollectionSchema {
  const fields: FieldSpec[] = []
  for (const [key, value] of Object.entries(def)) {
    if (key.startsWith('$')) {
      if (!KNOWN_META.has(key)) {
        throw new SchemaError(`${name}: unknown key ${key}; collections take ${[...KNOWN_META].join(', ')} and fields`)
      }
      continue
    }
    fields.push(parseFieldType(name, key, value))
  }
  if (fields.length === 0) throw new SchemaError(`${name}: a collection needs at least one field`)
  const typeName = def.$type ?? name
  if (typeof typeName !== 'string') throw new SchemaError(`${name}.$type must be a string`)
  const ingest = def.$ingest
  if (ingest !== undefined && ingest !== 'tail') {
    throw new SchemaError(`${name}.$ingest: only 'tail' is supported, got ${JSON.stringify(ingest)}`)
  }

  const timeField = pickTimeField(name, fields, def.$timeField)
  const promoted = compilePromoted(name, fields, def.$promote)
  return { name, typeName, fields, timeField, promoted, ...(ingest ? { ingest } : {}) }
}

function pickTimeField(name: string, fields: FieldSpec[], explicit: unknown): string {
  if (explicit !== undefined) {
    const f = fields.find(x => x.name === explicit)
    if (!f || f.type !== 'timestamp' || !f.required || f.array) {
      throw new SchemaError(`${name}.$timeField: ${JSON.stringify(explicit)} must name a required timestamp field ` +
        "('timestamp!')")
    }
    return f.name
  }
  const f = fields.find(x => x.type === 'timestamp' && x.required && !x.array)
  if (!f) throw new SchemaError(`${name}: needs a required timestamp field ('timestamp!') to partition by time`)
  return f.name
}

function compilePromoted(name: string, fields: FieldSpec[], spec: unknown): PromotedColumn[] {
  if (spec === undefined) return []
  if (typeof spec !== 'object' || spec === null) {
    throw new SchemaError(`${name}.$promote must map column names to { path, type }`)
  }
  const out: PromotedColumn[] = []
  for (const [col, raw] of Object.entries(spec as Record<string, unknown>)) {
    const where = `${name}.$promote.${col}`
    if (fields.some(f => f.name === col)) throw new SchemaError(`${where}: the name is already a field`)
    const { path, type } = (raw ?? {}) as { path?: unknown; type?: unknown }
    if (typeof path !== 'string' || !path.includes('.')) {
      throw new SchemaError(`${where}: path must be a dotted path into a variant field, like 'event.request.url'`)
    }
    if (type !== 'string' && type !== 'int' && type !== 'double') {
      throw new SchemaError(`${where}: type must be 'string', 'int' or 'double'`)
    }
    const parts = path.split('.')
    const root = fields.find(f => f.name === parts[0])
    if (!root || root.type !== 'variant') throw new SchemaError(`${where}: ${parts[0]} is not a variant field`)
    out.push({ name: col, path: parts, type })
  }
  return out
}
