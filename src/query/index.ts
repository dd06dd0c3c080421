export { openParquet, MissingObjectError } from './r2_buffer.js'
export { readFileRowGroups, type ChunkStats, type ReadFileOptions } from './parquet_reader.js'
export { emptyScanStats, planScan, scanCollection, type ScanOptions, type ScanPlan, type ScanStats, type TimeRange, type WalSource } from './scan.js'
export { buildPruner, type Pruner } from './pruning.js'
export { FindQuery, collectionTarget, type Explain, type FindContext, type FindOptions, type ReadTarget } from './find.js'
export { compileProjection, type Projection } from './projection.js'
export { runSql, SqlError, type SqlResult } from './sql.js'
export { templateToSql, rewriteIntervals, type SqlText } from './sql_text.js'
export { wherePushdown } from './sql_pushdown.js'
export {
  DEFAULT_QUERY_LIMITS, QueryBudget, QueryLimitError, checkLimits, resolveLimits, type QueryLimitName, type QueryLimits,
} from './budget.js'
