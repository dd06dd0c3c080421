/**
 * The Errors page: failing invocations grouped by exception name and message, from the rows of
 * a time-bounded read of the WorkerErrors view. Pure: the caller streams the rows in.
 */
export interface ErrorRow {
  scriptName: string | null
  outcome: string | null
  exceptionName: string | null
  exceptionMessage: string | null
  url: string | null
  status: number | null
  timestamp: Date
}

export interface ErrorGroup {
  /** The exception's name, or `outcome: <outcome>` for a failure without an exception. */
  name: string
  message: string | null
  count: number
  firstSeen: Date
  lastSeen: Date
  scripts: string[]
  outcomes: Record<string, number>
  /** The most recent request URL behind it, if any. */
  lastUrl: string | null
}

/** Groups sent to the page; the rest are counted in `omitted`. */
export const MAX_ERROR_GROUPS = 200

export class ErrorGrouper {
  private readonly groups = new Map<string, ErrorGroup & { scriptSet: Set<string> }>()
  total = 0

  add(row: ErrorRow): void {
    this.total++
    const name = row.exceptionName ?? `outcome: ${row.outcome ?? 'unknown'}`
    const message = row.exceptionMessage ?? null
    const key = JSON.stringify([name, message])
    let g = this.groups.get(key)
    if (!g) {
      g = {
        name, message, count: 0, firstSeen: row.timestamp, lastSeen: row.timestamp, scripts: [], outcomes: {},
        lastUrl: null, scriptSet: new Set(),
      }
      this.groups.set(key, g)
    }
    g.count++
    if (row.timestamp < g.firstSeen) g.firstSeen = row.timestamp
    if (row.timestamp >= g.lastSeen) { g.lastSeen = row.timestamp; g.lastUrl = row.url ?? g.lastUrl }
    if (row.scriptName) g.scriptSet.add(row.scriptName)
    const outcome = row.outcome ?? 'unknown'
    g.outcomes[outcome] = (g.outcomes[outcome] ?? 0) + 1
  }

  /** Most frequent first; ties by the latest occurrence. */
  result(): { total: number; groups: ErrorGroup[]; omitted: number } {
    const all = [...this.groups.values()]
      .sort((a, b) => b.count - a.count || b.lastSeen.getTime() - a.lastSeen.getTime())
    const groups = all.slice(0, MAX_ERROR_GROUPS)
      .map(({ scriptSet, ...g }) => ({ ...g, scripts: [...scriptSet].sort() }))
    return { total: this.total, groups, omitted: all.length - groups.length }
  }
}
