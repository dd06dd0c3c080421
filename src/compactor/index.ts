export { runPass, recompact, type RecompactRequest, type RecompactResult } from './compaction.js'
export { DEFAULT_COMPACTION, type CompactionOptions } from './options.js'
export { CompactionConflictError } from './commit_step.js'
export { writeDataFile } from './file_writer.js'
