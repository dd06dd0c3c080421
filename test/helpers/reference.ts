/** Plain-JS references for views, written from the spec's definitions, independent of the engine. */

export type Row = Record<string, unknown>

export function groupBy<T>(rows: T[], key: (r: T) => unknown[]): Map<string, { key: unknown[]; rows: T[] }> {
  const out = new Map<string, { key: unknown[]; rows: T[] }>()
  for (const r of rows) {
    const k = key(r)
    const id = JSON.stringify(k)
    let g = out.get(id)
    if (!g) out.set(id, (g = { key: k, rows: [] }))
    g.rows.push(r)
  }
  return out
}

export const floorHour = (d: Date) => new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000)
export const floorDay = (d: Date) => new Date(Math.floor(d.getTime() / 86_400_000) * 86_400_000)

/** The value at rank ⌊q·(n−1)⌋ of the sorted values. */
export function quantile(values: number[], q: number): number | null {
  if (!values.length) return null
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(q * (s.length - 1))]!
}
