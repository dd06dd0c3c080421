/**
 * The schema language: `'string!'` required, `'string?'` or `'string'` optional,
 * `'variant[]'` an array (never null; missing means empty). Scalars map to typed
 * Parquet columns with statistics; variant holds any JSON-like value.
 */
export type ScalarType = 'string' | 'int' | 'double' | 'boolean' | 'timestamp' | 'variant'

export const SCALAR_TYPES: readonly ScalarType[] = ['string', 'int', 'double', 'boolean', 'timestamp', 'variant']

/** Aliases accepted in definitions, mapped to the canonical scalar. */
const ALIASES: Record<string, ScalarType> = {
  text: 'string',
  integer: 'int',
  number: 'double',
  float: 'double',
  bool: 'boolean',
  date: 'timestamp',
  datetime: 'timestamp',
  json: 'variant',
}

export interface FieldSpec {
  name: string
  type: ScalarType
  required: boolean
  array: boolean
  /** Stored for the engine (a view's source time), never shown in rows. */
  hidden?: boolean
}

export class SchemaError extends Error {
  override name = 'SchemaError'
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function parseFieldType(collection: string, name: string, spec: unknown): FieldSpec {
  const where = `${collection}.${name}`
  if (!FIELD_NAME.test(name)) {
    throw new SchemaError(`${where}: field names must match ${FIELD_NAME} (letters, digits, _)`)
  }
  if (typeof spec !== 'string') {
    throw new SchemaError(`${where}: field type must be a string like 'string!' or 'variant[]', ` +
      `got ${JSON.stringify(spec)}`)
  }
  const m = /^([a-z]+)(\[\])?([!?])?$/.exec(spec.trim())
  if (!m) {
    throw new SchemaError(`${where}: cannot parse type ${JSON.stringify(spec)}; ` +
      "write e.g. 'string!', 'timestamp?', 'variant[]'")
  }
  const base = m[1]!
  const type = (SCALAR_TYPES as readonly string[]).includes(base) ? (base as ScalarType) : ALIASES[base]
  if (!type) {
    throw new SchemaError(`${where}: unknown type ${JSON.stringify(base)}; known types: ${SCALAR_TYPES.join(', ')}`)
  }
  const array = m[2] === '[]'
  if (array && m[3] === '!') {
    throw new SchemaError(`${where}: arrays are never null, so '!' adds nothing; write '${base}[]'`)
  }
  return { name, type, required: m[3] === '!', array }
}
