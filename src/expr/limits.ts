import { ExprError } from './paths.js'

/**
 * What one filter or expression may cost to compile. A caller's filter is untrusted input:
 * without these a deeply nested one overflows the stack while compiling, and a huge `$in`
 * list holds memory for the whole query.
 */
export const FILTER_LIMITS = {
  /** Values in one `$in` or `$nin` list (each is one set entry, checked in constant time per row). */
  maxInValues: 1_000_000,
  /** Objects and arrays nested inside one another, counting the filter itself as 1 (MongoDB: 100). */
  maxDepth: 100,
} as const

/** Throws ExprError when `value` nests objects or arrays deeper than the limit; walks without recursion. */
export function checkDepth(value: unknown, what: string, max = FILTER_LIMITS.maxDepth): void {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object' || v instanceof Date || v instanceof RegExp) continue
    if (depth > max) {
      throw new ExprError(
        `${what} nests deeper than ${max} levels; flatten it (e.g. one $and or $in instead of nested ones)`,
      )
    }
    const children = Array.isArray(v) ? v : Object.values(v)
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1])
  }
}

/** Throws ExprError when an `$in`/`$nin` list is longer than the limit. */
export function checkInLength(op: string, path: string, length: number): void {
  if (length > FILTER_LIMITS.maxInValues) {
    throw new ExprError(
      `${op} on ${path} has ${length} values, over the limit of ${FILTER_LIMITS.maxInValues}; ` +
        'split the query or filter on a coarser field',
    )
  }
}
