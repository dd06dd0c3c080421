/**
 * The slice of R2's Workers API the engine needs. An R2Bucket binding satisfies it
 * structurally, so it is passed through untouched; the memory and fs adapters
 * implement the same semantics (conditional puts, ranged gets, delimited lists).
 */

export interface BucketObject {
  key: string
  size: number
  /** Unquoted entity tag, as R2 reports it in `etag`. */
  etag: string
  uploaded: Date
  customMetadata?: Record<string, string>
}

export interface BucketObjectBody extends BucketObject {
  arrayBuffer(): Promise<ArrayBuffer>
  text(): Promise<string>
}

export type BucketRange = { offset: number; length?: number } | { offset?: number; length: number } | { suffix: number }

export interface BucketConditional {
  etagMatches?: string
  etagDoesNotMatch?: string
}

export interface BucketPutOptions {
  /**
   * `{ etagDoesNotMatch: '*' }` means create-if-absent; `{ etagMatches }` is compare-and-swap.
   * A put whose condition fails resolves to null (R2's behaviour), it does not throw.
   */
  onlyIf?: BucketConditional
  customMetadata?: Record<string, string>
}

export interface BucketListOptions {
  prefix?: string
  cursor?: string
  delimiter?: string
  limit?: number
  startAfter?: string
}

export interface BucketListResult {
  objects: BucketObject[]
  delimitedPrefixes: string[]
  truncated: boolean
  cursor?: string
}

export interface Bucket {
  get(key: string, options?: { range?: BucketRange }): Promise<BucketObjectBody | null>
  head(key: string): Promise<BucketObject | null>
  put(
    key: string, value: string | ArrayBuffer | ArrayBufferView, options?: BucketPutOptions,
  ): Promise<BucketObject | null>
  list(options?: BucketListOptions): Promise<BucketListResult>
  delete(keys: string | string[]): Promise<void>
}

/** Thrown when an adapter cannot do what was asked (bad range, unreadable path). */
export class StorageError extends Error {
  override name = 'StorageError'
}

/** Resolves a range request against an object size: [start, end) in bytes. */
export function resolveRange(range: BucketRange | undefined, size: number): [number, number] {
  if (!range) return [0, size]
  if ('suffix' in range) {
    const start = Math.max(0, size - range.suffix)
    return [start, size]
  }
  const start = range.offset ?? 0
  if (start < 0 || start > size) throw new StorageError(`range offset ${start} is outside an object of ${size} bytes`)
  const end = range.length === undefined ? size : Math.min(size, start + range.length)
  return [start, end]
}

export function toBytes(value: string | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value)
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0))
  return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength))
}

/** Keys that R2 would accept and that sort and list predictably. */
export function checkKey(key: string): void {
  if (!key || key.length > 1024) {
    throw new StorageError(`invalid object key ${JSON.stringify(key)}: must be 1 to 1024 characters`)
  }
}
