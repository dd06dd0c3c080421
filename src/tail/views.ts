import type { WorkerError, WorkerLog, WorkerRequest } from './types.js'

/** Carries a view's row type to `db.<View>.find()`; type-only, absent at run time. */
type Typed<D, Row> = D & { readonly __row?: Row }

/** Console logs, one row per log line. */
export const WorkerLogs = {
  $from: 'TailEvents',
  $unnest: 'logs', // Flatten the logs array
  $select: {
    scriptName: '$scriptName',
    level: '$logs.level',
    message: '$logs.message',
    timestamp: '$logs.timestamp',
    colo: '$event.request.cf.colo',
  },
} as const as Typed<{
  $from: 'TailEvents'
  $unnest: 'logs'
  $select: {
    scriptName: '$scriptName'
    level: '$logs.level'
    message: '$logs.message'
    timestamp: '$logs.timestamp'
    colo: '$event.request.cf.colo'
  }
}, WorkerLog>

/** Events with an exception or an outcome other than ok. */
export const WorkerErrors = {
  $from: 'TailEvents',
  $filter: {
    $or: [
      { outcome: { $ne: 'ok' } },
      { 'exceptions.0': { $exists: true } },
    ],
  },
  $select: {
    scriptName: '$scriptName',
    outcome: '$outcome',
    exceptionName: '$exceptions.0.name',
    exceptionMessage: '$exceptions.0.message',
    url: '$event.request.url',
    status: '$event.response.status',
    colo: '$event.request.cf.colo',
    timestamp: '$eventTimestamp',
  },
} as Typed<{ $from: 'TailEvents'; $filter: Record<string, unknown>; $select: Record<string, string> }, WorkerError>

/** HTTP requests, for request analytics. */
export const WorkerRequests = {
  $from: 'TailEvents',
  $filter: { event: { $exists: true } },
  $select: {
    scriptName: '$scriptName',
    method: '$event.request.method',
    url: '$event.request.url',
    status: '$event.response.status',
    outcome: '$outcome',
    colo: '$event.request.cf.colo',
    country: '$event.request.cf.country',
    timestamp: '$eventTimestamp',
  },
} as Typed<{ $from: 'TailEvents'; $filter: Record<string, unknown>; $select: Record<string, string> }, WorkerRequest>
