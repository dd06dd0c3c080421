export { SchemaError, type FieldSpec } from './field_types.js'
export {
  compileCollection, isCollectionDefinition, type CollectionSchema, type PromotedColumn,
} from './collection_schema.js'
export { normalizeRow, promotedValue, recheckStoredRow, toPublicRow, type StoredRow } from './row_codec.js'
export { getPath } from './path.js'
export { fromParquetRecord, parquetColumns, statColumns, toParquetRecord } from './parquet_layout.js'
