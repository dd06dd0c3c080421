/**
 * Value semantics shared by filters, expressions and sorting: Dates compare as
 * instants (epoch ms, the engine's timestamp form), objects and arrays compare deeply,
 * and different types never compare as equal or ordered (MongoDB's type bracketing).
 */

/** Dates become epoch ms; everything else is left as it is. */
export function norm(v: unknown): unknown {
  return v instanceof Date ? v.getTime() : v
}

export function deepEqual(a: unknown, b: unknown): boolean {
  a = norm(a)
  b = norm(b)
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return (a === null || a === undefined) && (b === null || b === undefined)
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as unknown[]
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]))
  }
  if (a instanceof RegExp || b instanceof RegExp) return false
  const ka = Object.keys(a as object)
  const kb = Object.keys(b as object)
  // Same key set (own keys only): `{ k: null }` is not `{ j: null }` though both read null at the other's key.
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  return ka.length === kb.length && ka.every(k => Object.hasOwn(rb, k) && deepEqual(ra[k], rb[k]))
}

/** Orders two values of the same type: <0, 0, >0; null when they cannot be compared. */
export function compareSame(a: unknown, b: unknown): number | null {
  a = norm(a)
  b = norm(b)
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b)
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b)
  return null
}

const RANK: Record<string, number> = { undefined: 0, null: 0, number: 1, string: 2, object: 3, array: 4, boolean: 5 }

function rank(v: unknown): number {
  if (v === null || v === undefined) return 0
  if (Array.isArray(v)) return RANK.array!
  return RANK[typeof v] ?? 6
}

/** A total order for sorting: missing/null first, then numbers (and Dates), strings, objects, arrays, booleans. */
export function compareTotal(a: unknown, b: unknown): number {
  a = norm(a)
  b = norm(b)
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  const c = compareSame(a, b)
  if (c !== null) return c
  if (ra === 0) return 0
  const sa = JSON.stringify(a)
  const sb = JSON.stringify(b)
  return sa < sb ? -1 : sa > sb ? 1 : 0
}

/** MongoDB's truthiness for `$expr` and `$cond`: false, null, undefined and 0 are false. */
export function truthy(v: unknown): boolean {
  return !(v === false || v === null || v === undefined || v === 0 || Number.isNaN(v))
}

/**
 * Strings in code point order (= UTF-8 byte order, what Parquet statistics use, and
 * MongoDB's order). JavaScript's `<` compares UTF-16 units, which puts characters beyond
 * U+FFFF (emoji) before U+E000–U+FFFF.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // Surrogates (D800–DFFF) encode code points above FFFF: lift them past the BMP.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000
    return x - y
  }
  return a.length - b.length
}
