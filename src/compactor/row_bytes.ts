import type { StoredRow } from '../schema/index.js'

/**
 * A row group is cut at this many estimated bytes as well as at rowGroupRows. A merge holds
 * one row group per input (up to 16) and a read decodes a whole group: 2,000 rows of 50 KB (a
 * 100 MB group) ran a merge out of a 128 MB heap. With 2 MB groups that merge needs under 48 MB
 * of JS heap (4 MB groups: over 64 MB). Ordinary TailEvent records (~0.7 KB) still fill 2,000-row
 * groups; rich ones (1.6 KB, promoted columns included) about 1,300.
 */
export const ROW_GROUP_BYTES = 2 << 20

/**
 * About the JSON size of a row, cheaply: string lengths, 8 per number, key names, without
 * building the JSON text. Iterative, so a deeply nested value cannot overflow the stack.
 */
export function estimateBytes(value: unknown): number {
  let bytes = 0
  const stack: unknown[] = [value]
  while (stack.length) {
    const v = stack.pop()
    if (typeof v === 'string') bytes += v.length + 2
    else if (v === null || typeof v !== 'object') bytes += 8
    else if (Array.isArray(v)) {
      bytes += 2 + v.length
      for (const x of v) stack.push(x)
    } else {
      bytes += 2
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue
        bytes += k.length + 4
        stack.push((v as Record<string, unknown>)[k])
      }
    }
  }
  return bytes
}

/**
 * Measures each row a file gets, as estimateBytes would (its fields' names and values), in the same
 * walk that collects the object keys of its VARIANT fields, which the encoder's metadata for the
 * row group needs (VariantEncoder.encodeColumn): one walk per row instead of two.
 */
export class RowMeter {
  private readonly fields: { name: string; variant: boolean }[]
  /** Per field (schema order), the keys under the current group's VARIANT values; undefined for others. */
  private keys: (Set<string> | undefined)[]

  constructor(fields: readonly { name: string; type: string; array: boolean }[]) {
    this.fields = fields.map(f => ({ name: f.name, variant: f.array || f.type === 'variant' }))
    this.keys = this.newKeys()
  }

  /** About the JSON size of a row; its VARIANT values' keys are added to the group's. */
  measure(row: StoredRow): number {
    let bytes = 2
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i]!
      const v = row[f.name]
      const keys = this.keys[i]
      bytes += f.name.length + 4
      if (keys) bytes += measureVariant(v, keys, 0)
      else bytes += typeof v === 'string' ? v.length + 2 : v === null || typeof v !== 'object' ? 8 : estimateBytes(v)
    }
    return bytes
  }

  /** The group's keys per field, and a new group begins. */
  take(): (Set<string> | undefined)[] {
    const out = this.keys
    this.keys = this.newKeys()
    return out
  }

  private newKeys(): (Set<string> | undefined)[] {
    return this.fields.map(f => (f.variant ? new Set<string>() : undefined))
  }
}

/**
 * estimateBytes of a VARIANT value, adding the keys of its objects (those whose value is not
 * undefined, as the encoder writes them) to `keys`. Recursive, as the encoder is; estimateBytes
 * takes over below RECURSION_LEVELS, so the estimate never overflows the stack.
 */
function measureVariant(v: unknown, keys: Set<string>, depth: number): number {
  if (typeof v === 'string') return v.length + 2
  if (v === null || typeof v !== 'object') return 8
  if (depth >= RECURSION_LEVELS) {
    collectDeep(v, keys)
    return estimateBytes(v)
  }
  if (Array.isArray(v)) {
    let bytes = 2 + v.length
    for (let i = 0; i < v.length; i++) bytes += measureVariant(v[i], keys, depth + 1)
    return bytes
  }
  let bytes = 2
  const o = v as Record<string, unknown>
  for (const k in o) {
    const x = o[k]
    bytes += k.length + 4
    if (x === undefined) { bytes += 8; continue }
    keys.add(k)
    bytes += measureVariant(x, keys, depth + 1)
  }
  return bytes
}

/** The keys under a deeply nested value, with an explicit stack. */
function collectDeep(value: unknown, keys: Set<string>): void {
  const stack: unknown[] = [value]
  while (stack.length) {
    const v = stack.pop()
    if (v === null || typeof v !== 'object') continue
    if (Array.isArray(v)) { for (const x of v) stack.push(x); continue }
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k]
      if (x === undefined) continue
      keys.add(k)
      stack.push(x)
    }
  }
}

/** Nesting levels measured by recursion before the iterative estimate takes over. */
const RECURSION_LEVELS = 48
