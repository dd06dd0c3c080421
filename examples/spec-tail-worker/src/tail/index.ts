// src/tail/index.ts — verbatim from the spec's "Tail Worker Implementation".
import { db } from './db'

export interface Env {
  PARQUEDB: R2Bucket
}

export default {
  async tail(events: TraceItem[], env: Env, ctx: ExecutionContext) {
    // Transform Cloudflare trace items to TailEvents schema
    const tailEvents = events.map(event => ({
      scriptName: event.scriptName ?? 'unknown',
      outcome: event.outcome,
      eventTimestamp: new Date(event.eventTimestamp),
      event: event.event,
      logs: event.logs ?? [],
      exceptions: event.exceptions ?? [],
      diagnosticsChannelEvents: event.diagnosticsChannelEvents ?? [],
    }))

    // Write to the stream collection - MVs update automatically
    ctx.waitUntil(db.TailEvents.bulkCreate(tailEvents))
  },
}
