/**
 * How the CLI shows answers to people: aligned tables and short summaries. Scripts pass --json and
 * get the admin API's JSON as it is, the same for --url and --dir.
 */

/** Cells longer than this are cut with an ellipsis; --json has them whole. */
export const MAX_CELL = 60

export function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  const flat = s.replace(/\s+/g, ' ')
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat
}

/** An aligned text table; numbers are right-aligned. Columns default to every key, in order of first use. */
export function table(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  if (!rows.length) return '(no rows)\n'
  const cols = columns ?? [...new Set(rows.flatMap(r => Object.keys(r)))]
  const text = rows.map(r => cols.map(c => cell(r[c])))
  const numeric = cols.map(c => rows.every(r => r[c] === null || r[c] === undefined || typeof r[c] === 'number'))
  const width = cols.map((c, i) => Math.max(c.length, ...text.map(t => t[i]!.length)))
  const line = (cells: readonly string[]) =>
    cells.map((s, i) => (numeric[i] ? s.padStart(width[i]!) : s.padEnd(width[i]!))).join('  ').trimEnd()
  return `${[line(cols), line(width.map(w => '-'.repeat(w))), ...text.map(line)].join('\n')}\n`
}

export function bytes(n: number): string {
  if (!n) return '0 B'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)))
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${units[i]}`
}

export function age(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

export const time = (v: unknown): string =>
  (v === null || v === undefined ? '' : new Date(v as string | number).toISOString())

/** `key  value` lines for an object of scalars (nested values as JSON). */
export function fields(o: Record<string, unknown>): string {
  const w = Math.max(...Object.keys(o).map(k => k.length))
  return Object.entries(o).map(([k, v]) => `${k.padEnd(w)}  ${typeof v === 'object' && v !== null
    ? JSON.stringify(v) : String(v)}`).join('\n') + '\n'
}

interface Stats {
  files: number; rowGroups: number; walSegments: number; rowsRead: number; bytesRead: number
  r2: { get: number; head: number; list: number; put: number }; costUsd: number
}

/** What a query read, in one line. */
export function statsLine(s: Stats | undefined): string {
  if (!s) return ''
  return `read ${s.files} files, ${s.rowGroups} row groups, ${s.walSegments} WAL segments, ${s.rowsRead} rows, `
    + `${bytes(s.bytesRead)}; R2 ${s.r2.get} GET, ${s.r2.head} HEAD, ${s.r2.list} LIST, ${s.r2.put} PUT `
    + `($${s.costUsd.toFixed(6)})\n`
}

interface CollectionStatus {
  files: number; l0Files: number; bytes: number; rows: number; partitions: number; oldest: unknown; newest: unknown
  wal: { segments: number; bytes: number; oldestAgeMs: number; awaitingDeletion: number }
}
interface ViewStatus {
  files: number; bytes: number; rows: number; partitions: number; refresh: string; lastRefresh: unknown
  pendingFiles: number; rebuilding: number
}
interface Status {
  manifestVersion: number; manifestBytes: number; updatedAt: unknown; garbage: number; pendingRecompact: number
  collections: Record<string, CollectionStatus>; views: Record<string, ViewStatus>
  lastPass: { at: number; durationMs: number; segmentsCompacted: number; rowsCompacted: number; filesWritten: number;
    backlogSegments: number } | null
}

export function statusText(s: Status, now: number): string {
  const pass = s.lastPass
    ? `${time(s.lastPass.at)} (${age(now - s.lastPass.at)} ago): ${s.lastPass.segmentsCompacted} segments, `
      + `${s.lastPass.rowsCompacted} rows, ${s.lastPass.filesWritten} files in ${s.lastPass.durationMs} ms; `
      + `backlog after it ${s.lastPass.backlogSegments}`
    : 'none yet'
  const collections = Object.entries(s.collections).map(([name, c]) => ({
    collection: name, files: c.files, l0: c.l0Files, rows: c.rows, bytes: bytes(c.bytes), partitions: c.partitions,
    'wal segments': c.wal.segments, 'wal bytes': bytes(c.wal.bytes),
    'oldest wal': c.wal.segments ? age(c.wal.oldestAgeMs) : '', 'to delete': c.wal.awaitingDeletion,
    newest: time(c.newest),
  }))
  const views = Object.entries(s.views).map(([name, v]) => ({
    view: name, refresh: v.refresh, files: v.files, rows: v.rows, bytes: bytes(v.bytes), partitions: v.partitions,
    pending: v.pendingFiles, rebuilding: v.rebuilding, 'last refresh': time(v.lastRefresh),
  }))
  return `manifest v${s.manifestVersion} (${bytes(s.manifestBytes)}), updated ${time(s.updatedAt) || 'never'}\n`
    + `last pass: ${pass}\n`
    + `objects awaiting deletion: ${s.garbage}; partitions queued for recompaction: ${s.pendingRecompact}\n\n`
    + table(collections) + (views.length ? `\n${table(views)}` : '')
}

/** One line per tail event: time, script, outcome, status, request, and the exception or the logs. */
export function eventLine(r: Record<string, unknown>): string {
  const ev = (r.event ?? {}) as { request?: { method?: string; url?: string }; response?: { status?: number };
    cron?: string }
  const ex = (r.exceptions as { name?: string; message?: string }[] | null)?.[0]
  const logs = (r.logs as { level?: string; message?: unknown }[] | null) ?? []
  const what = ex ? `${ex.name}: ${ex.message}`
    : logs.map(l => `[${l.level}] ${[].concat(l.message as never).map(m => (typeof m === 'string' ? m
      : JSON.stringify(m))).join(' ')}`).join(' · ')
  const request = ev.request ? `${ev.request.method} ${ev.request.url}` : ev.cron ? `cron ${ev.cron}` : ''
  return [time(r.eventTimestamp), r.scriptName || '(unnamed)', r.outcome, ev.response?.status ?? '-', request, what]
    .join('  ').replace(/\s+$/, '') + '\n'
}
