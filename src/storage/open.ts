import type { Bucket } from './bucket.js'
import { StorageError } from './bucket.js'
import { MemoryBucket } from './memory_bucket.js'

/** What `DB(..., { storage })` accepts. An R2Bucket binding is a Bucket as it is. */
export type StorageOption =
  | { type: 'r2'; bucket?: Bucket | undefined | (() => Bucket | undefined); binding?: string }
  | { type: 'memory' }
  | { type: 'fs'; path: string }
  | Bucket

// Kept out of static imports so bundlers never pull node:fs into a Worker.
const FS_BUCKET_MODULE = './fs_bucket.js'

/**
 * Turns a storage option into a bucket getter. Binding is lazy: a module-scope
 * `DB(...)` in a Worker runs before `env` exists, so the R2 binding is looked up
 * on first use, not at construction.
 */
export function openBucket(
  option: StorageOption | undefined, handlerEnv: () => Record<string, unknown> | undefined = () => undefined,
): () => Promise<Bucket> {
  if (!option) {
    throw new StorageError('DB(): options.storage is required, ' +
      'e.g. { type: "r2", bucket: env.PARQUEDB } or { type: "memory" }')
  }
  if (isBucket(option)) return async () => option
  switch (option.type) {
    case 'memory': {
      const bucket = new MemoryBucket()
      return async () => bucket
    }
    case 'fs': {
      if (!option.path) throw new StorageError('storage { type: "fs" } needs a path')
      let opened: Promise<Bucket> | undefined
      return () => (opened ??= import(/* @vite-ignore */ FS_BUCKET_MODULE).then(
        (m: typeof import('./fs_bucket.js')) => new m.FsBucket(option.path),
      ))
    }
    case 'r2': {
      const source = option.bucket
      const binding = option.binding ?? 'PARQUEDB'
      return async () => {
        // The bucket given, else the binding from the env a handler was called with,
        // else the env of `cloudflare:workers` (module-scope access in workerd).
        let bucket: unknown = typeof source === 'function' ? source() : source
        bucket ??= handlerEnv()?.[binding]
        bucket ??= await workersEnvBinding(binding)
        if (!isBucket(bucket)) {
          throw new StorageError(`storage { type: "r2" }: no R2 bucket binding ${binding}; ` +
            `add [[r2_buckets]] binding = "${binding}" to wrangler.toml`)
        }
        return bucket
      }
    }
    default:
      throw new StorageError(`unknown storage type ${JSON.stringify((option as { type?: unknown }).type)}; ` +
        'use "r2", "memory", "fs" or pass a bucket')
  }
}

const WORKERS_MODULE = 'cloudflare:workers'

/** A binding from the env of `cloudflare:workers` (module-scope access in workerd); undefined elsewhere. */
export async function workersEnvBinding(name: string): Promise<unknown> {
  try {
    const mod = (await import(/* @vite-ignore */ WORKERS_MODULE)) as { env?: Record<string, unknown> }
    return mod.env?.[name]
  } catch {
    return undefined // not running in workerd
  }
}

export function isBucket(x: unknown): x is Bucket {
  if (typeof x !== 'object' || x === null) return false
  const b = x as Record<string, unknown>
  return ['get', 'put', 'head', 'list', 'delete'].every(m => typeof b[m] === 'function')
}
