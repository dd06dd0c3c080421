// The spec's tail worker (docs: "Complete Tail Worker Example"), as a user writes it.
// Views (WorkerLogs, WorkerErrors, ...) join this schema once materialized views land.
import { env } from 'cloudflare:workers'
import { DB } from 'parquedb'
import { TailEvents } from 'parquedb/tail'

export const db = DB({
  // Stream collection - ingests raw tail events
  TailEvents,
}, {
  storage: { type: 'r2', bucket: env.PARQUEDB },
})
