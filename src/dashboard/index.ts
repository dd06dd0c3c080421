export { dashboardResponse } from './page.js'
export { OverviewBuilder, type Overview, type OverviewRow, bucketFor, quantile, MAX_BUCKETS } from './overview.js'
export { ErrorGrouper, type ErrorGroup, type ErrorRow, MAX_ERROR_GROUPS } from './errors.js'
export { queryStats, type QueryStats, type ScanLike, CLASS_A_USD, CLASS_B_USD } from './stats.js'
