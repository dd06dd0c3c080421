export { R2WalWriter, WalWriteError, encodeSegment, type AppendResult, type WalRow, type WalWriter } from './log_writer.js'
export { R2WalTail, WalCorruptError, decodeSegment, listSegments, readSegment, type WalTail } from './log_reader.js'
export { parseSegmentKey, segmentKey, walPrefix, randomId, type SegmentRef } from './segment_key.js'
export { writeQuarantine, quarantinePrefix, type QuarantineEntry } from './quarantine.js'
