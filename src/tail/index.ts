export { TailEvents } from './schema.js'
export { WorkerErrors, WorkerLogs, WorkerRequests } from './views.js'
export { traceItemToTailEvent, type TraceItemLike } from './trace_item.js'
export type {
  ExceptionEntry,
  LogEntry,
  TailEvent,
  TailEventData,
  TailEventInput,
  WorkerError,
  WorkerLog,
  WorkerRequest,
} from './types.js'
