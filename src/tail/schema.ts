/**
 * The TailEvents stream collection: the spec's fields, plus what TraceItems really
 * carry. The hot nested paths are promoted to typed Parquet columns (with statistics)
 * so they prune and scan fast; the full values stay in their variant fields.
 */
export const TailEvents = {
  $type: 'TailEvent',
  scriptName: 'string!',
  outcome: 'string!',
  eventTimestamp: 'timestamp!',
  event: 'variant?',
  logs: 'variant[]',
  exceptions: 'variant[]',
  diagnosticsChannelEvents: 'variant[]',
  cpuTime: 'int?',
  wallTime: 'int?',
  duration: 'int?',
  truncated: 'boolean?',
  executionModel: 'string?',
  entrypoint: 'string?',
  scriptVersion: 'variant?',
  dispatchNamespace: 'string?',
  scriptTags: 'string[]',
  $ingest: 'tail',
  $promote: {
    url: { path: 'event.request.url', type: 'string' },
    method: { path: 'event.request.method', type: 'string' },
    status: { path: 'event.response.status', type: 'int' },
    colo: { path: 'event.request.cf.colo', type: 'string' },
    country: { path: 'event.request.cf.country', type: 'string' },
    exceptionName: { path: 'exceptions.0.name', type: 'string' },
    exceptionMessage: { path: 'exceptions.0.message', type: 'string' },
  },
} as const
