import xxhash from 'xxhash-wasm'

/**
 * The canonical text `$hash` hashes, so a value hashes the same in workerd and Node and
 * whether it arrives as a Date or as stored epoch ms:
 * - strings: themselves; numbers: JavaScript's shortest round-trip decimal (`1705312800000`);
 * - Dates and timestamp fields: their epoch milliseconds, as a number;
 * - booleans and null: `true`, `false`, `null` (a missing value is null);
 * - arrays and objects: JSON with object keys sorted, nested values by the same rules.
 * The text is UTF-8 encoded and hashed with xxHash64, seed 0.
 */
export function canonicalText(v: unknown): string {
  if (typeof v === 'string') return v
  return JSON.stringify(canonicalValue(v))
}

/** The canonical form as JSON text always (a string is quoted): value identity for grouping. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(canonicalValue(v))
}

function canonicalValue(v: unknown): unknown {
  if (v === undefined || v === null) return null
  if (v instanceof Date) return v.getTime()
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(canonicalValue)
  if (typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map(k => [k, canonicalValue((v as Record<string, unknown>)[k])]))
  }
  return v
}

export type HashFunction = (value: unknown) => bigint

let loading: Promise<HashFunction> | undefined

/** xxHash64 of the canonical text; the wasm is loaded once per isolate or process. */
export function loadHash(): Promise<HashFunction> {
  return (loading ??= xxhash().then(api => (value: unknown) => api.h64(canonicalText(value))))
}

let digesting: Promise<(text: string) => string> | undefined

/**
 * A 128-bit digest of a text as 32 hex digits: xxHash64 under two seeds. Not cryptographic, but
 * collisions between honest inputs are out of reach, and it costs a fraction of a WebCrypto call:
 * what keys a tail batch by its content on the hot path.
 */
export function loadDigest(): Promise<(text: string) => string> {
  const encoder = new TextEncoder()
  return (digesting ??= xxhash().then(api => (text: string) => {
    const bytes = encoder.encode(text)
    const hex = (n: bigint) => n.toString(16).padStart(16, '0')
    return hex(api.h64Raw(bytes, 0n)) + hex(api.h64Raw(bytes, 0x9e3779b97f4a7c15n))
  }))
}
