import { CronExpressionParser } from 'cron-parser'

export class ScheduleError extends Error {
  override name = 'ScheduleError'
}

/** Checks a cron expression when a view is defined, so a typo fails at DB() time. */
export function checkSchedule(schedule: string): void {
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' })
  } catch (e) {
    throw new ScheduleError(`invalid cron schedule ${JSON.stringify(schedule)}: ${(e as Error).message}`)
  }
}

/**
 * Was a run of `schedule` due in (lastRefresh, now]? A view never refreshed is due at
 * once. Cron fields are read in UTC, in standard cron numbering (Sunday = 0; Cloudflare's
 * trigger crons count weekdays from 1 = Sunday, so copy them with care).
 */
export function isDue(schedule: string, lastRefresh: number | null, now: number): boolean {
  if (lastRefresh === null) return true
  const it = CronExpressionParser.parse(schedule, { currentDate: new Date(lastRefresh), tz: 'UTC' })
  return it.next().getTime() <= now
}
