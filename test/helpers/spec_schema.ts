import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from '../../src/tail/index.js'

// The spec's db.ts schema, verbatim, plus the spec's other custom views.
export const SPEC_SCHEMA = {
  TailEvents,
  WorkerLogs,
  WorkerErrors,
  WorkerRequests,
  EndpointMetrics: {
    $from: 'WorkerRequests',
    $groupBy: ['scriptName', 'method', { hour: '$timestamp' }],
    $compute: {
      requestCount: { $count: '*' },
      errorRate: { $avg: { $cond: [{ $ne: ['$outcome', 'ok'] }, 1, 0] } },
    },
    $refresh: { mode: 'scheduled', schedule: '0 * * * *' },
  },
  ColoErrors: {
    $from: 'WorkerErrors',
    $groupBy: ['colo', { hour: '$timestamp' }],
    $compute: {
      errorCount: { $count: '*' },
      uniqueScripts: { $countDistinct: 'scriptName' },
    },
  },
  RequestLatency: {
    $from: 'TailEvents',
    $filter: { 'event.request': { $exists: true } },
    $groupBy: ['scriptName', { hour: '$eventTimestamp' }],
    $compute: {
      p50: { $percentile: ['duration', 0.5] },
      p95: { $percentile: ['duration', 0.95] },
      p99: { $percentile: ['duration', 0.99] },
      requestCount: { $count: '*' },
    },
    $refresh: { mode: 'scheduled', schedule: '0 * * * *' },
  },
  ErrorPatterns: {
    $from: 'WorkerErrors',
    $groupBy: ['scriptName', 'exceptionName', 'exceptionMessage'],
    $compute: {
      occurrences: { $count: '*' },
      firstSeen: { $min: 'timestamp' },
      lastSeen: { $max: 'timestamp' },
      affectedColos: { $countDistinct: 'colo' },
    },
  },
  StatusCodes: {
    $from: 'WorkerRequests',
    $groupBy: ['scriptName', 'status', { day: '$timestamp' }],
    $compute: {
      count: { $count: '*' },
    },
  },
  DailyMetrics: {
    $from: 'WorkerRequests',
    $groupBy: [{ day: '$timestamp' }],
    $compute: { /* ... */ },
    $refresh: { mode: 'scheduled', schedule: '0 * * * *' },  // Hourly
  },
  OnlyErrors: {
    $from: 'TailEvents',
    $filter: { outcome: { $ne: 'ok' } },
  },
}

