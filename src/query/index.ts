export { openParquet, MissingObjectError } from './r2_buffer.js'
export { readFileRowGroups } from './parquet_reader.js'
export { emptyScanStats, planScan, scanCollection, type ScanOptions, type ScanPlan, type ScanStats, type TimeRange } from './scan.js'
