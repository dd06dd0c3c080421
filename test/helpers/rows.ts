/** A canonical, order-independent form of rows, to compare what went in with what comes out. */
export function canonical(rows: readonly object[]): string[] {
  return rows.map(r => JSON.stringify(sortKeys(r))).sort()
}

function sortKeys(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortKeys((v as Record<string, unknown>)[k])]))
  }
  return v
}
