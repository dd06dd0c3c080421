import {
  type CompactionOptions, DEFAULT_COMPACTION, type RecompactRequest, type RecompactResult, publishNow, recompact,
  runPass,
} from '../compactor/index.js'
import type { PassSummary } from '../manifest/index.js'
import { type CollectionSchema, SchemaError, compileCollection, isCollectionDefinition } from '../schema/index.js'
import { type Bucket, DEFAULT_CONCURRENCY, openBucket, workersEnvBinding } from '../storage/index.js'
import {
  BufferedWal, type BufferOptions, type DurableObjectNamespaceLike, bufferSettings,
} from '../ingest/index.js'
import { type TailEvent, type TailEventInput, type TraceItemLike, traceItemToTailEvent } from '../tail/index.js'
import { R2WalWriter } from '../wal/index.js'
import { type ExpressionEnv, loadHash } from '../expr/index.js'
import { compileViews } from '../mv/index.js'
import { View } from './view.js'
import {
  type QueryLimits, type ReadTarget, type SqlResult, SqlError, checkLimits, collectionTarget, rewriteIntervals, runSql,
  templateToSql,
} from '../query/index.js'
import { handleAdmin } from './admin_api.js'
import { knownName, liveFiles } from './files.js'
import { Collection } from './collection.js'
import { type DBOptions, DBConfigError, normalizePrefix, parseRetention } from './options.js'
import { type DBStatus, bufferStatus, readStatus } from './status.js'

type BaseTS<B> = B extends 'string' | 'text' ? string
  : B extends 'int' | 'integer' | 'double' | 'number' | 'float' ? number
  : B extends 'boolean' | 'bool' ? boolean
  : B extends 'timestamp' | 'date' | 'datetime' ? Date
  : unknown
type FieldTS<T> = T extends `${infer B}[]` ? BaseTS<B>[]
  : T extends `${infer B}!` ? BaseTS<B>
  : T extends `${infer B}?` ? BaseTS<B> | null
  : BaseTS<T> | null
/** The row type a collection definition describes. */
export type RowOf<D> = D extends { $type: 'TailEvent' } ? TailEvent
  : { -readonly [K in keyof D as K extends `$${string}` ? never : K]: FieldTS<D[K]> }
export type InputOf<D> = D extends { $type: 'TailEvent' } ? TailEventInput : Record<string, unknown>

/** A view's row type: the pre-built views carry theirs; others are plain records. */
export type ViewRowOf<D> = D extends { readonly __row?: infer R }
  ? (unknown extends R ? Record<string, unknown> : R)
  : Record<string, unknown>

export type Collections<S> = {
  [K in keyof S]: S[K] extends { $from: unknown } ? View<ViewRowOf<S[K]>> : Collection<RowOf<S[K]>, InputOf<S[K]>>
}

/** A Worker's env; typed loosely so any user `Env` interface fits the ready-made handlers. */
type Env = object

export interface DBCore {
  /** One bounded compaction pass (what the cron runs). */
  compact(options?: Partial<CompactionOptions>): Promise<PassSummary>
  /** Rewrite the stored partitions in [from, to); what one pass cannot finish, the cron does. */
  recompact(req?: RecompactRequest): Promise<RecompactResult>
  /** Backlog, files, partitions, the last pass; with `ingest.buffer`, each shard's unflushed events. */
  status(): Promise<DBStatus>
  /**
   * Publishes the Iceberg tables now (with the `iceberg` option; each pass also does): returns the
   * tables that got a new snapshot or metadata version.
   */
  publishTables(): Promise<string[]>
  /**
   * With `ingest.buffer`: every shard writes what it holds to the WAL now (their alarms do it
   * within `maxWaitMs` anyway); resolves with the segments written. 0 without a buffer.
   */
  flush(): Promise<number>
  /**
   * SQL over collections and views: ``await db.sql`SELECT ... WHERE scriptName = ${name}` ``.
   * Interpolated values are bound, never spliced; `db.sql.explain` also reports each scan.
   */
  readonly sql: SqlTag
  /**
   * Makes a scheduled view current now: compacts its source's WAL, then shows everything
   * compacted. With `{ from, to }` it first rebuilds the view over that range from stored data.
   */
  refresh(view: string, range?: { from?: Date | number; to?: Date | number }): Promise<PassSummary>
  /**
   * A ready `tail` handler: `export default { tail: db.tail }`. Resolves when the batch is
   * durable; rejected events are logged (and quarantined), a storage failure rejects.
   */
  readonly tail: (
    events: readonly TraceItemLike[], env?: Env, ctx?: { waitUntil(p: Promise<unknown>): void },
  ) => Promise<void>
  /** A ready `scheduled` handler: runs one compaction pass. */
  readonly scheduled: (controller?: unknown, env?: Env, ctx?: { waitUntil(p: Promise<unknown>): void }) => Promise<void>
  /** The admin API (`/admin/*`), or null for other paths. */
  readonly fetchAdmin: (request: Request, env?: Env) => Promise<Response | null>
  /** The bucket in use (resolved lazily). */
  bucket(): Promise<Bucket>
  readonly collections: readonly CollectionSchema[]
}

export interface SqlTag {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<Record<string, unknown>[]>
  explain(strings: TemplateStringsArray, ...values: unknown[]): Promise<SqlResult>
  /** The same tag with other limits for its queries: ``db.sql.with({ timeoutMs: 120_000 })`SELECT ...` ``. */
  with(limits: QueryLimits): SqlTag
}

export type DBInstance<S> = DBCore & Collections<S>

const RESERVED = new Set([
  'compact', 'recompact', 'status', 'tail', 'scheduled', 'fetchAdmin', 'bucket', 'collections', 'views', 'sql',
  'refresh', 'publishTables', 'flush', 'then',
])

/**
 * Opens a store. Safe at module scope in a Worker: nothing touches storage until
 * the first call, and the R2 binding is looked up then.
 */
export function DB<const S extends Record<string, Record<string, unknown>>>(
  schema: S,
  options: DBOptions,
): DBInstance<S> {
  if (typeof schema !== 'object' || schema === null) {
    throw new SchemaError('DB(schema, options): schema must be an object of collection definitions')
  }
  if (!options || typeof options !== 'object') {
    throw new DBConfigError('DB(schema, options): options with a storage are required')
  }
  const prefix = normalizePrefix(options.prefix)
  const now = options.now ?? Date.now
  let handlerEnv: Record<string, unknown> | undefined
  const bucket = openBucket(options.storage, () => handlerEnv)
  const remember = (env: Env | undefined) => { if (env) handlerEnv = env as Record<string, unknown> }
  const direct = new R2WalWriter(bucket, prefix, now)
  const buffer = options.ingest?.buffer
  const storageBinding = typeof options.storage === 'object' && 'type' in options.storage
    && options.storage.type === 'r2' ? options.storage.binding : undefined
  // Group commit: batches go to buffer shards, which flush many as one WAL segment (src/ingest).
  const buffered = buffer
    ? new BufferedWal(namespace(buffer, () => handlerEnv), bufferSettings(buffer, storageBinding), prefix, direct)
    : null
  const wal = buffered ?? direct

  const schemas: CollectionSchema[] = []
  const viewDefs: Record<string, Record<string, unknown>> = {}
  const collections: Record<string, Collection | View> = {}
  const expression: ExpressionEnv = {}
  let hashReady: Promise<void> | undefined
  const ready = () => (hashReady ??= loadHash().then(h => { expression.hash = h }))
  checkLimits(options.query, 'query.', m => new DBConfigError(m))
  // Readers stay inside the grace period the compactor keeps replaced objects for (invariant safe-gc).
  const graceMs = options.compaction?.graceMs ?? DEFAULT_COMPACTION.graceMs
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new DBConfigError(`concurrency must be a positive integer, got ${JSON.stringify(options.concurrency)}`)
  }
  const findCtx = {
    bucket, prefix, now, expression, ready, limits: options.query, graceMs, concurrency,
    ...(buffered ? { buffers: buffered } : {}),
  }
  for (const [name, def] of Object.entries(schema)) {
    if (RESERVED.has(name)) {
      throw new SchemaError(`${name}: the name is reserved for a DB method; rename the collection`)
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      throw new SchemaError(`${name}: collection names must start with a letter and hold only letters, digits and _`)
    }
    if (typeof def !== 'object' || def === null) throw new SchemaError(`${name}: the definition must be an object`)
    if (!isCollectionDefinition(def)) { viewDefs[name] = def; continue }
    const compiled = compileCollection(name, def)
    schemas.push(compiled)
    collections[name] = new Collection(compiled, { ...findCtx, wal })
  }
  const views = compileViews(viewDefs, schemas, expression)
  for (const plan of views) {
    collections[plan.name] = new View(plan, views, schemas.find(s => s.name === plan.root)!, findCtx)
  }
  const tailCollection = schemas.find(s => s.ingest === 'tail')

  const retention: Record<string, number> = {}
  for (const [name, value] of Object.entries(options.retention ?? {})) {
    if (!(name in collections)) {
      throw new DBConfigError(`retention.${name}: no collection or view of that name; ` +
        `the schema has ${Object.keys(collections).join(', ')}`)
    }
    retention[name] = parseRetention(name, value)
  }

  const compactorConfig = async (extra?: Partial<CompactionOptions>) => {
    if (views.length) await ready()
    return {
      bucket: await bucket(), prefix, collections: schemas, views, retention, now,
      options: { concurrency, ...options.compaction, ...extra },
      ...(options.iceberg ? { publisher: options.iceberg } : {}),
    }
  }

  const sqlTables = (): Record<string, ReadTarget> => Object.fromEntries([
    ...schemas.map(c => [c.name, collectionTarget(c)] as const),
    ...views.map(v => [v.name, (collections[v.name] as View).target] as const),
  ])
  const sqlTag = (limits?: QueryLimits): SqlTag => {
    const run = (strings: TemplateStringsArray, values: unknown[]) =>
      runSql(templateToSql(strings, values), sqlTables(), findCtx, limits)
    const rows = async (strings: TemplateStringsArray, ...values: unknown[]) => (await run(strings, values)).rows
    return Object.assign(rows, {
      explain: (strings: TemplateStringsArray, ...values: unknown[]) => run(strings, values),
      with: (more: QueryLimits) => {
        checkLimits(more, 'db.sql.with: ', m => new SqlError(m))
        return sqlTag({ ...limits, ...more })
      },
    })
  }
  const sql = sqlTag()

  const core: DBCore = {
    collections: schemas,
    sql,
    bucket,
    async compact(extra) {
      return runPass(await compactorConfig(extra))
    },
    async recompact(req = {}) {
      return recompact(await compactorConfig(), req)
    },
    async status() {
      const shards = buffered?.status()
      shards?.catch(() => {}) // awaited below
      const status = await readStatus(await bucket(), prefix, schemas, now(), views)
      return shards ? { ...status, buffers: bufferStatus(await shards) } : status
    },
    async flush() {
      return buffered ? buffered.flush() : 0
    },
    async publishTables() {
      if (!options.iceberg) {
        throw new DBConfigError('publishTables: no tables to publish; pass iceberg: icebergTables({ location }) ' +
          "from 'parquedb/iceberg' to DB() (docs/interop.md)")
      }
      return publishNow(await compactorConfig())
    },
    async refresh(name, range) {
      const plan = views.find(v => v.name === name)
      if (!plan) {
        throw new RangeError(`refresh: no view named ${JSON.stringify(name)}; ` +
          `views: ${views.map(v => v.name).join(', ') || 'none'}`)
      }
      if (range) await recompact(await compactorConfig(), { ...range, collections: [name] })
      return runPass({ ...(await compactorConfig()), refresh: [name] })
    },
    tail: async (events, env, ctx) => {
      remember(env)
      if (!tailCollection) {
        throw new SchemaError("db.tail needs a collection with $ingest: 'tail' " +
          "(import { TailEvents } from 'parquedb/tail')")
      }
      if (!events.length) return
      const received = now()
      // Keyed by the batch's content, so the same TraceItems delivered twice are stored once.
      const write = (collections[tailCollection.name] as Collection)
        .bulkCreateOnce(events.map(e => traceItemToTailEvent(e, received)))
      if (ctx) ctx.waitUntil(write)
      await write
    },
    scheduled: async (_controller, env, ctx) => {
      remember(env)
      const pass = core.compact().then(s => {
        console.log(`parquedb: compaction pass: ${s.segmentsCompacted} segments, ${s.rowsCompacted} rows, ` +
          `${s.filesWritten} files, ${s.partitionsMerged} merges, backlog ${s.backlogSegments}, ${s.durationMs} ms`)
      })
      if (ctx) ctx.waitUntil(pass)
      await pass
    },
    fetchAdmin: async (request, env) => {
      remember(env)
      const token = handlerEnv?.[options.adminTokenSecret ?? 'PARQUEDB_ADMIN_TOKEN']
      return handleAdmin(request, typeof token === 'string' ? token : undefined, {
        compact: () => core.compact(),
        recompact: req => core.recompact(req),
        status: () => core.status(),
        query: text => runSql({ text: rewriteIntervals(text), params: [] }, sqlTables(), findCtx),
        find: (name, filter, opts) => collections[knownName(name, collections)]!.find(filter, opts),
        files: async name => liveFiles(await bucket(), prefix, knownName(name, collections), now()),
        tailCollection: tailCollection?.name ?? null,
        errorsView: views.some(v => v.name === 'WorkerErrors') ? 'WorkerErrors' : null,
        now,
      })
    },
  }
  return Object.assign(core, collections) as DBInstance<S>
}


/**
 * The buffer's Durable Object namespace: the one given, else the binding of that name from the env a
 * handler was called with, else from `cloudflare:workers` (looked up on first use, like the bucket).
 */
function namespace(
  buffer: BufferOptions, handlerEnv: () => Record<string, unknown> | undefined,
): () => Promise<DurableObjectNamespaceLike> {
  return async () => {
    const { binding } = buffer
    const ns = typeof binding === 'string' ? handlerEnv()?.[binding] ?? await workersEnvBinding(binding) : binding
    if (typeof ns !== 'object' || ns === null || typeof (ns as DurableObjectNamespaceLike).idFromName !== 'function') {
      throw new DBConfigError(`ingest.buffer: no Durable Object binding ${String(binding)}; add ` +
        `[[durable_objects.bindings]] name = "${String(binding)}" class_name = "ParqueDBBuffer" to wrangler.toml ` +
        "and export { ParqueDBBuffer } from 'parquedb' in the Worker (docs/guide.md, \"Group commit\")")
    }
    return ns as DurableObjectNamespaceLike
  }
}
