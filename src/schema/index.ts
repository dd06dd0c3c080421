export { SchemaError, type FieldSpec } from './field_types.js'
export {
  compileCollection, isCollectionDefinition, type CollectionSchema, type PromotedColumn,
} from './collection_schema.js'
export { normalizeRow, promotedValue, recheckStoredRow, toPublicRow, type StoredRow } from './row_codec.js'
export { getPath } from './path.js'
export {
  LAYOUT_KEY, PARQUET_LAYOUT, PARQUET_LAYOUTS_READ, PROMOTED_KEY, ParquetLayoutError, fromParquetRecord, layoutOf,
  parquetColumns, promotedColumnsFor, promotedMetadata, promotedOf, promotionDigest, samePromotion, statColumns,
  toParquetRecord, ColumnBuilder, type FilePromotion, type PromotionMask, isPromotedValue,
} from './parquet_layout.js'
