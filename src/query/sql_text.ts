/**
 * Turns a `db.sql` tagged template into query text. Interpolated values are never spliced
 * in as SQL: each becomes a call `__PARAM(i)` that returns the value itself (an array
 * becomes a list of such calls, for `IN (${list})`). Finite numbers are written as numeric
 * literals, so `LIMIT ${n}` works; nothing else can reach the parser as text.
 */
export interface SqlText {
  text: string
  params: unknown[]
}

export const PARAM_FUNCTION = '__PARAM'

export function templateToSql(strings: readonly string[], values: readonly unknown[]): SqlText {
  const params: unknown[] = []
  let text = strings[0] ?? ''
  values.forEach((v, i) => {
    text += render(v, params) + (strings[i + 1] ?? '')
  })
  return { text: rewriteIntervals(text), params }
}

function render(v: unknown, params: unknown[]): string {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 0 ? `(${v})` : String(v)
  if (Array.isArray(v)) {
    if (!v.length) return `${PARAM_FUNCTION}(${params.push(null) - 1})`
    return v.map(x => render(x, params)).join(', ')
  }
  params.push(v)
  return `${PARAM_FUNCTION}(${params.length - 1})`
}

const UNITS: Record<string, string> = {
  second: 'SECOND', seconds: 'SECOND', sec: 'SECOND', secs: 'SECOND',
  minute: 'MINUTE', minutes: 'MINUTE', min: 'MINUTE', mins: 'MINUTE',
  hour: 'HOUR', hours: 'HOUR', day: 'DAY', days: 'DAY', week: 'WEEK', weeks: 'WEEK',
  month: 'MONTH', months: 'MONTH', year: 'YEAR', years: 'YEAR',
}

/**
 * PostgreSQL's `INTERVAL '1 hour'` / `'24 hours'` → `INTERVAL 1 HOUR`, which the engine
 * parses. Only outside string literals and quoted identifiers; other forms pass through.
 */
export function rewriteIntervals(sql: string): string {
  let out = ''
  let i = 0
  while (i < sql.length) {
    const c = sql[i]!
    if (c === '"') {
      const end = closeQuote(sql, i, '"')
      out += sql.slice(i, end)
      i = end
      continue
    }
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i)
      const stop = end < 0 ? sql.length : end
      out += sql.slice(i, stop)
      i = stop
      continue
    }
    if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2)
      const stop = end < 0 ? sql.length : end + 2
      out += sql.slice(i, stop)
      i = stop
      continue
    }
    const m = /^INTERVAL\s+'\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*'/i.exec(sql.slice(i))
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined
    if (m && unit && (i === 0 || !/[A-Za-z0-9_]/.test(sql[i - 1]!))) {
      out += `INTERVAL ${wholeInterval(Number(m[1]), unit)}`
      i += m[0].length
      continue
    }
    if (c === "'") {
      const end = closeQuote(sql, i, "'")
      out += sql.slice(i, end)
      i = end
      continue
    }
    out += c
    i++
  }
  return out
}

const SECONDS: Record<string, number> = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86_400 }

/** `1.5 HOUR` → `5400 SECOND`: the engine rounds fractional intervals, so spell them whole. */
function wholeInterval(n: number, unit: string): string {
  // The engine has no WEEK unit.
  if (unit === 'WEEK') return wholeInterval(n * 7, 'DAY')
  if (Number.isInteger(n) || !SECONDS[unit]) return `${n} ${unit}`
  // 1.1 × 3600 is 3960.0000000000005 in floating point: round, then accept only a near-exact match.
  const exact = n * SECONDS[unit]!
  const seconds = Math.round(exact)
  return Math.abs(exact - seconds) < 1e-6 ? `${seconds} SECOND` : `${n} ${unit}`
}

/** Index just past a quoted run starting at `start` ('' or "" inside are escaped quotes). */
function closeQuote(sql: string, start: number, q: string): number {
  let i = start + 1
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) { i += 2; continue }
      return i + 1
    }
    i++
  }
  return sql.length
}
