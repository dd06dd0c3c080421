/**
 * The Events search, shared by the dashboard's Events page and `parquedb tail`: a time range and a few
 * fields people filter by, turned into one find() filter over the tail events (time-bounded, so only
 * the range's partitions and WAL segments are read).
 */
export interface EventQuery {
  from: Date
  /** Open-ended when left out: live views follow events as they arrive. */
  to?: Date
  script?: string
  outcome?: string
  /** A console log level: events with at least one log line at it. */
  level?: string
  /** A status code (`500`) or class (`5xx`). */
  status?: string
  /** Text, case-insensitive, in the URL, log messages or exceptions (matched literally). */
  text?: string
}

export class EventQueryError extends Error {
  override name = 'EventQueryError'
}

/** Characters with a meaning in a regular expression, escaped so the text matches literally. */
const SPECIAL = /[.*+?^${}()|[\]\\]/g

export function eventFilter(q: EventQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {
    eventTimestamp: q.to ? { $gte: q.from, $lt: q.to } : { $gte: q.from },
  }
  if (q.script) filter.scriptName = q.script
  if (q.outcome) filter.outcome = q.outcome
  if (q.level) filter['logs.level'] = q.level
  const status = q.status?.trim()
  if (status) {
    if (/^[1-5]xx$/i.test(status)) {
      const base = Number(status[0]) * 100
      filter['event.response.status'] = { $gte: base, $lt: base + 100 }
    } else if (/^[1-5]\d\d$/.test(status)) {
      filter['event.response.status'] = Number(status)
    } else {
      throw new EventQueryError(`status: write a code like 500 or a class like 5xx, not ${JSON.stringify(status)}`)
    }
  }
  const text = q.text?.trim()
  if (text) {
    const re = { $regex: text.replace(SPECIAL, '\\$&'), $options: 'i' }
    filter.$or = [
      { 'event.request.url': re }, { 'logs.message': re }, { 'exceptions.message': re }, { 'exceptions.name': re },
    ]
  }
  return filter
}
