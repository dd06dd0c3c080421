import type { PublishedTable } from '../manifest/index.js'
import { type CollectionSchema, parquetColumns } from '../schema/index.js'

/** An Iceberg field as the table metadata JSON spells it. */
export interface IcebergField {
  id: number
  name: string
  required: boolean
  type: string | { type: 'struct'; fields: IcebergField[] }
  doc?: string
}

export interface TableSchema {
  fields: IcebergField[]
  fieldIds: Record<string, number>
  lastColumnId: number
  /** The id of the column the partition spec's hour transform reads. */
  timeFieldId: number
  /** Top-level columns by name: their id and Iceberg type, for bounds. */
  columns: Map<string, { id: number; type: string }>
  /** `schema.name-mapping.default`: our Parquet files carry no field ids, so readers map columns by name. */
  nameMapping: { 'field-id': number; names: string[]; fields?: { 'field-id': number; names: string[] }[] }[]
}

/** Parquet column type → Iceberg type; VARIANT is its physical group (Iceberg v2 has no variant type). */
const ICEBERG_TYPE: Record<string, string> = {
  BOOLEAN: 'boolean', INT32: 'int', INT64: 'long', FLOAT: 'float', DOUBLE: 'double', STRING: 'string',
  JSON: 'string', BYTE_ARRAY: 'binary', TIMESTAMP: 'timestamptz', UUID: 'uuid',
}

/**
 * The Iceberg schema of a collection or row view, derived from its Parquet layout (schema/parquet_layout):
 * typed columns, promoted columns, VARIANT columns as their `{metadata, value}` group. Field ids come
 * from the table's published state, so a column keeps its id across schema changes and a new or
 * retyped column gets a new one.
 */
export function tableSchema(schema: CollectionSchema, prior: PublishedTable | undefined): TableSchema {
  const fieldIds = { ...prior?.fieldIds }
  let last = prior?.lastColumnId ?? 0
  const idOf = (key: string) => (fieldIds[key] ??= ++last)
  const hidden = new Set(schema.fields.filter(f => f.hidden && f.name !== schema.timeField).map(f => f.name))
  const fields: IcebergField[] = []
  const columns = new Map<string, { id: number; type: string }>()
  const nameMapping: TableSchema['nameMapping'] = []
  for (const col of parquetColumns(schema)) {
    if (hidden.has(col.name)) continue
    const required = col.nullable === false
    if (col.type === 'VARIANT') {
      const id = idOf(`${col.name}:variant`)
      const part = (name: string) => ({ id: idOf(`${col.name}:variant.${name}`), name, required: true, type: 'binary' })
      const parts = [part('metadata'), part('value')]
      fields.push({
        id, name: col.name, required, type: { type: 'struct', fields: parts },
        doc: 'Parquet VARIANT (metadata and value); DuckDB read_parquet decodes it, promoted columns are typed',
      })
      nameMapping.push({
        'field-id': id, names: [col.name], fields: parts.map(p => ({ 'field-id': p.id, names: [p.name] })),
      })
      continue
    }
    const type = ICEBERG_TYPE[col.type ?? '']
    if (!type) {
      throw new TypeError(`iceberg: no Iceberg type for the Parquet column ${col.name} of type ${String(col.type)}`)
    }
    const id = idOf(`${col.name}:${type}`)
    fields.push({ id, name: col.name, required, type })
    columns.set(col.name, { id, type })
    nameMapping.push({ 'field-id': id, names: [col.name] })
  }
  const time = columns.get(schema.timeField)
  if (!time || time.type !== 'timestamptz') {
    throw new TypeError(`iceberg: ${schema.name}'s time field ${schema.timeField} is not a timestamp column`)
  }
  return { fields, fieldIds, lastColumnId: last, timeFieldId: time.id, columns, nameMapping }
}
