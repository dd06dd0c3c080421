export { type ViewPlan } from './view_plan.js'
export { foldRows, mergeStateRows, finalizeRow } from './grouping.js'
export { isDue } from './refresh_schedule.js'
export { bucketStart, bucketEnd } from './time_bucket.js'
export { RELATIVE_ACCURACY } from './quantile_sketch.js'
export { compileViews } from './registry.js'
export { chainTransform } from './chain.js'
export {
  STATE_FORMAT_KEY, STATE_FORMAT_VERSION, StateFormatError, stateFileMetadata, stateRowDecoder,
} from './state_format.js'
