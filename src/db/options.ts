import type { CompactionOptions } from '../compactor/index.js'
import type { StorageOption } from '../storage/index.js'

export interface DBOptions {
  /** Where data lives: `{ type: 'r2', bucket: env.PARQUEDB }`, `{ type: 'memory' }`, `{ type: 'fs', path }`, or any Bucket. */
  storage: StorageOption
  /** Key prefix inside the bucket, so several stores can share one bucket. Default ''. */
  prefix?: string
  /** The clock (ms since epoch) used wherever the engine reads the time. Default Date.now. */
  now?: () => number
  /** Compaction knobs; see CompactionOptions. */
  compaction?: Partial<CompactionOptions>
  /** Secret name holding the bearer token of the admin API. Default 'PARQUEDB_ADMIN_TOKEN'. */
  adminTokenSecret?: string
}

export class DBConfigError extends Error {
  override name = 'DBConfigError'
}

export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return ''
  if (prefix.startsWith('/')) throw new DBConfigError(`prefix ${JSON.stringify(prefix)} must not start with /`)
  return prefix.endsWith('/') ? prefix : `${prefix}/`
}
