import {
  type AppendResult, type BufferRead, type BufferSource, type BufferedBatch, type EncodedRow, MAX_SEGMENT_BYTES,
  MAX_SEGMENT_PARTITIONS, type WalWriter, WalWriteError, batchId, planSegments,
} from '../wal/index.js'
import { PARTITION_MS, withRetries } from '../storage/index.js'
import {
  type BufferOptions, DEFAULT_BUFFER, type DurableObjectNamespaceLike, MAX_BUFFERED_BATCH_BYTES, RETAIN_MS,
  type ShardConfig,
} from './options.js'
import { type AppendRequest, type FlushResponse, PATHS, type ReadResponse, type ShardStatus } from './protocol.js'


export class BufferConfigError extends Error {
  override name = 'BufferConfigError'
}

/** The validated settings of `ingest.buffer`, with defaults. */
export interface BufferSettings {
  shards: number
  maxEvents: number
  maxBytes: number
  maxWaitMs: number
  bucketBinding: string
}

export function bufferSettings(o: BufferOptions, storageBinding: string | undefined): BufferSettings {
  if (!o || typeof o !== 'object') throw new BufferConfigError('ingest.buffer must be an object with a binding')
  if (typeof o.binding !== 'string' && (typeof o.binding !== 'object' || o.binding === null)) {
    throw new BufferConfigError('ingest.buffer.binding must name the ParqueDBBuffer Durable Object binding ' +
      "(e.g. 'PARQUEDB_BUFFER') or be the namespace itself")
  }
  const int = (name: keyof typeof DEFAULT_BUFFER, min: number, max: number) => {
    const v = o[name] ?? DEFAULT_BUFFER[name]
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new BufferConfigError(`ingest.buffer.${name} must be an integer from ${min} to ${max}, ` +
        `got ${JSON.stringify(o[name])}`)
    }
    return v
  }
  return {
    shards: int('shards', 1, 1024),
    maxEvents: int('maxEvents', 1, 1_000_000),
    maxBytes: int('maxBytes', 1, MAX_SEGMENT_BYTES),
    maxWaitMs: int('maxWaitMs', 0, 3_600_000),
    bucketBinding: o.bucketBinding ?? storageBinding ?? 'PARQUEDB',
  }
}

/**
 * The DB's side of the group-commit buffer: a WalWriter that sends each batch to one shard (one
 * request), and the BufferSource queries read the shards' unflushed batches from. A batch that
 * does not fit one segment, or a Durable Object row, is written straight to the WAL instead.
 */
export class BufferedWal implements WalWriter, BufferSource {
  readonly retainMs = RETAIN_MS

  constructor(
    private readonly namespace: () => Promise<DurableObjectNamespaceLike>,
    private readonly settings: BufferSettings,
    private readonly prefix: string,
    private readonly direct: WalWriter,
  ) {}

  /** The name of shard `i`: its Durable Object's name and the root of its segment ids. */
  shardName(i: number): string {
    return `${this.prefix}parquedb-shard-${i}`
  }

  async append(collection: string, rows: readonly EncodedRow[], batchKey: string): Promise<AppendResult> {
    if (rows.length === 0) throw new WalWriteError('append() needs at least one row')
    const plans = planSegments(rows)
    // A shard tracks a table's hours by its batches' time spans: a span over a segment's hours
    // (a batch of 1970 and 9999, say) is written as the planner splits it, straight to the WAL.
    const span = (p: { minTime: number; maxTime: number }) =>
      Math.floor(p.maxTime / PARTITION_MS) - Math.floor(p.minTime / PARTITION_MS) + 1
    const plan0 = plans[0]!
    if (plans.length !== 1 || plan0.bytes > MAX_BUFFERED_BATCH_BYTES || span(plan0) > MAX_SEGMENT_PARTITIONS) {
      return this.direct.append(collection, rows, batchKey)
    }
    const plan = plans[0]!
    const key = await batchId(batchKey)
    const shard = this.shardName(shardOf(key, this.settings.shards))
    const request: AppendRequest = {
      config: this.config(shard), collection, key, events: rows.length, bytes: plan.bytes,
      lines: plan.rows.map(r => r.line).join('\n') + '\n', minTime: plan.minTime, maxTime: plan.maxTime,
    }
    try {
      await this.call(shard, PATHS.append, request)
    } catch (e) {
      const err = new WalWriteError(`${collection}: buffer shard ${shard} may not have stored the batch ` +
        `(${(e as Error)?.message ?? e}); retry with { idempotencyKey: ${JSON.stringify(batchKey)} } ` +
        'to store it exactly once', { cause: e })
      err.idempotencyKey = batchKey
      err.stored = []
      throw err
    }
    return { keys: [], rows: rows.length, bytes: plan.bytes, shard }
  }

  async read(request: BufferRead): Promise<BufferedBatch[]> {
    const body = { collection: request.collection, from: request.from ?? null, to: request.to ?? null,
      listedAt: request.listedAt }
    const answers = await Promise.all(this.shards().map(s => this.call<ReadResponse>(s, PATHS.read, body)))
    return answers.flatMap(a => a.batches)
  }

  /** Every shard's backlog. */
  status(): Promise<ShardStatus[]> {
    // A shard never sent a batch does not know its name yet.
    return Promise.all(this.shards().map(async s => ({ ...await this.call<ShardStatus>(s, PATHS.status), shard: s })))
  }

  /** Flushes every shard now; resolves with the segments written. */
  async flush(): Promise<number> {
    const all = await Promise.all(this.shards().map(s => this.call<FlushResponse>(s, PATHS.flush, {})))
    return all.reduce((n, r) => n + r.segments, 0)
  }

  private shards(): string[] {
    return Array.from({ length: this.settings.shards }, (_, i) => this.shardName(i))
  }

  private config(shard: string): ShardConfig {
    const { maxEvents, maxBytes, maxWaitMs, bucketBinding } = this.settings
    return { shard, prefix: this.prefix, bucketBinding, maxEvents, maxBytes, maxWaitMs }
  }

  /** One request to a shard, retried on a transient failure (appends are deduplicated by key). */
  private async call<T>(shard: string, path: string, body?: unknown): Promise<T> {
    const ns = await this.namespace()
    return withRetries(async () => {
      const stub = ns.get(ns.idFromName(shard) as never)
      const init = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }
      const res = await stub.fetch(`https://parquedb-buffer${path}`, init)
      if (res.ok) return await res.json() as T
      throw new ShardAnswer(res.status, await res.text())
    }, e => !(e instanceof ShardAnswer) || e.status >= 500)
  }
}

/** A shard's answer other than 2xx: a 4xx does not clear by retrying. */
class ShardAnswer extends Error {
  constructor(readonly status: number, text: string) {
    super(`${status} ${text}`)
  }
}

/** The shard of a batch: a hash of its id, so batches spread evenly and a retry reaches the same shard. */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return (h >>> 0) % shards
}
