/**
 * The deployable tail worker. Producers name it in `tail_consumers`; tail() batches go to the
 * group-commit buffer (ParqueDBBuffer shards, which flush many as one WAL segment); the cron
 * (wrangler.toml) compacts; /admin/* serves status and manual recompaction.
 */
import { DB } from './index.js'
import { TailEvents, WorkerErrors, WorkerLogs, WorkerRequests } from './tail/index.js'

/** The buffer's Durable Object class: wrangler.toml binds it as PARQUEDB_BUFFER. */
export { ParqueDBBuffer } from './index.js'

export interface Env {
  PARQUEDB: R2Bucket
  PARQUEDB_BUFFER: DurableObjectNamespace
  PARQUEDB_ADMIN_TOKEN?: string
}

/** The raw events and the three pre-built views, kept current by the cron. */
export const db = DB(
  { TailEvents, WorkerLogs, WorkerErrors, WorkerRequests },
  { storage: { type: 'r2', binding: 'PARQUEDB' }, ingest: { buffer: { binding: 'PARQUEDB_BUFFER' } } },
)

export default {
  tail: db.tail,
  scheduled: db.scheduled,
  async fetch(request, env) {
    const admin = await db.fetchAdmin(request, env)
    if (admin) return admin
    return new Response(
      'parquedb tail worker: see GET /admin/status (Authorization: Bearer <PARQUEDB_ADMIN_TOKEN>)\n', { status: 404 },
    )
  },
} satisfies ExportedHandler<Env>
