// src/tail/db.ts — the spec's "Schema Definition", verbatim but for the first import:
// `env` comes from 'cloudflare:workers', which lets a Worker read its bindings at module scope.
import { env } from 'cloudflare:workers'
import { DB } from 'parquedb'
import { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests } from 'parquedb/tail'

export const db = DB({
  // Stream collection - ingests raw tail events
  TailEvents,

  // Pre-built MVs
  WorkerLogs,
  WorkerErrors,
  WorkerRequests,

  // Custom MV: Aggregated metrics by endpoint
  EndpointMetrics: {
    $from: 'WorkerRequests',  // MV from another MV
    $groupBy: ['scriptName', 'method', { hour: '$timestamp' }],
    $compute: {
      requestCount: { $count: '*' },
      errorRate: { $avg: { $cond: [{ $ne: ['$outcome', 'ok'] }, 1, 0] } },
    },
    $refresh: { mode: 'scheduled', schedule: '0 * * * *' },
  },

  // Custom MV: Error rate by colo
  ColoErrors: {
    $from: 'WorkerErrors',
    $groupBy: ['colo', { hour: '$timestamp' }],
    $compute: {
      errorCount: { $count: '*' },
      uniqueScripts: { $countDistinct: 'scriptName' },
    },
  },

}, {
  storage: { type: 'r2', bucket: env.PARQUEDB },
})
