export { MissingObjectError } from './r2_buffer.js'
export { readFileRowGroups } from './parquet_reader.js'
export { type ScanStats, type TimeRange } from './scan.js'
export {
  FindQuery, collectionTarget, type Explain, type FindContext, type FindOptions, type ReadTarget,
} from './find.js'
export { runSql, SqlError, type SqlOptions, type SqlPath, type SqlResult } from './sql.js'
export { templateToSql, rewriteIntervals } from './sql_text.js'
export { wherePushdown } from './sql_pushdown.js'
export { DEFAULT_QUERY_LIMITS, QueryLimitError, checkLimits, type QueryLimits } from './budget.js'
