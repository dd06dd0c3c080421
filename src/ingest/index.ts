export { ParqueDBBuffer, type ShardState } from './buffer_object.js'
export { BufferConfigError, BufferedWal, type BufferSettings, bufferSettings, shardOf } from './buffer_client.js'
export {
  type BufferOptions, DEFAULT_BUFFER, type DurableObjectNamespaceLike, MAX_BUFFERED_BATCH_BYTES, REMEMBER_KEYS_MS,
  RETAIN_MS, SKEW_MS,
} from './options.js'
export type { ShardStatus } from './protocol.js'
