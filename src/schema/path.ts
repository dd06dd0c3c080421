/** Follows a dotted path through objects and arrays (`exceptions.0.name`); undefined where it breaks. */
export function getPath(value: unknown, path: readonly string[]): unknown {
  let cur: unknown = value
  for (const part of path) {
    if (cur === null || cur === undefined) return undefined
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined
      cur = cur[Number(part)]
    } else if (typeof cur === 'object') {
      cur = (cur as Record<string, unknown>)[part]
    } else {
      return undefined
    }
  }
  return cur
}
