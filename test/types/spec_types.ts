// Type-checked by `npm test` (tsc): the spec's "TypeScript Types" and "Using find()" examples
// must compile against the published types, with the rows typed as the spec says.
import { DB } from '../../src/index.js'
import type {
  ExceptionEntry,
  LogEntry,
  TailEvent,
  TailEventData,
  WorkerError,
  WorkerLog,
  WorkerRequest,
} from '../../src/tail/index.js'
import { SPEC_SCHEMA } from '../helpers/spec_schema.js'

declare const env: { PARQUEDB: R2Bucket }

export const db = DB(SPEC_SCHEMA, {
  storage: { type: 'r2', bucket: env.PARQUEDB },
})

export async function specExamples(): Promise<void> {
  // Type-safe queries
  const errors: WorkerError[] = await db.WorkerErrors.find({
    outcome: 'exception',
  }).items

  const logs: WorkerLog[] = await db.WorkerLogs.find({ level: 'error', scriptName: 'my-worker' })
  const requests: WorkerRequest[] = await db.WorkerRequests.find({ status: { $gte: 500 }, timestamp: { $gte: new Date('2024-01-15') } })
  const events: TailEvent[] = await db.TailEvents.find({ outcome: { $ne: 'ok' } })
  const metrics = await db.EndpointMetrics.find({ scriptName: 'api-worker', hour: { $gte: new Date('2024-01-15') } })
  const rates = await db.sql`SELECT scriptName, COUNT(*) as total FROM WorkerRequests GROUP BY scriptName`

  // Type-safe event handling
  function processEvent(event: TailEvent) {
    if (event.outcome !== 'ok') {
      console.log(`Error in ${event.scriptName}: ${event.outcome}`)
    }
  }
  events.forEach(processEvent)

  const data: TailEventData | null = events[0]?.event ?? null
  const log: LogEntry | undefined = events[0]?.logs[0]
  const ex: ExceptionEntry | undefined = events[0]?.exceptions[0]
  const when: Date | undefined = errors[0]?.timestamp
  // The row types are real, not any: a view's rows are not another view's.
  // @ts-expect-error WorkerError rows lack WorkerLog's level and message
  const mixed: WorkerLog[] = await db.WorkerErrors.find()
  // @ts-expect-error bulkCreate belongs to collections, not views
  await db.WorkerErrors.bulkCreate([])
  void [logs, requests, metrics, rates, data, log, ex, when, mixed]
}
