/**
 * The values a dotted path reaches in a document, MongoDB-style: a numeric part indexes
 * an array (`exceptions.0.name`); any other part applied to an array fans out over its
 * elements (`logs.level` → every log's level). Missing branches contribute nothing, and
 * only own properties are read, so the answer is the same for a row in memory and one decoded from Parquet.
 */
export function valuesAt(doc: unknown, parts: readonly string[]): unknown[] {
  const out: unknown[] = []
  walk(doc, parts, 0, out)
  return out
}

function walk(cur: unknown, parts: readonly string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (cur !== undefined) out.push(cur)
    return
  }
  if (cur === null || cur === undefined || typeof cur !== 'object' || cur instanceof Date) return
  const part = parts[i]!
  if (Array.isArray(cur)) {
    if (/^\d+$/.test(part)) walk(cur[Number(part)], parts, i + 1, out)
    else for (const el of cur) walk(el, parts, i, out)
    return
  }
  // Own properties only: `constructor`, `toString` or `__proto__` are found only where a row really has them.
  if (Object.hasOwn(cur, part)) walk((cur as Record<string, unknown>)[part], parts, i + 1, out)
}

/** The single value at a path (no fan-out over arrays); undefined where it breaks. */
export { getPath } from '../schema/index.js'

export function splitPath(path: string): string[] {
  if (!path || path.split('.').some(p => p === '')) throw new ExprError(`invalid field path ${JSON.stringify(path)}`)
  return path.split('.')
}

export class ExprError extends Error {
  override name = 'ExprError'
}
