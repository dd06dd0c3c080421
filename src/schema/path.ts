/**
 * Follows a dotted path through objects and arrays (`exceptions.0.name`); undefined where it breaks.
 * Reads own properties only: `constructor` or `__proto__` is a value only where the data holds that key.
 */
export function getPath(value: unknown, path: readonly string[]): unknown {
  let cur: unknown = value
  for (const part of path) {
    if (cur === null || cur === undefined) return undefined
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined
      cur = cur[Number(part)]
    } else if (typeof cur === 'object') {
      cur = Object.hasOwn(cur, part) ? (cur as Record<string, unknown>)[part] : undefined
    } else {
      return undefined
    }
  }
  return cur
}
