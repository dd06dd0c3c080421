/** Time buckets for `$groupBy: [{ hour: '$timestamp' }]`, in UTC; weeks start on Monday (ISO). */
export type BucketUnit = 'minute' | 'hour' | 'day' | 'week' | 'month'

export const BUCKET_UNITS: readonly BucketUnit[] = ['minute', 'hour', 'day', 'week', 'month']

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** The start (epoch ms) of the bucket holding `ms`. */
export function bucketStart(unit: BucketUnit, ms: number): number {
  switch (unit) {
    case 'minute': return Math.floor(ms / MINUTE) * MINUTE
    case 'hour': return Math.floor(ms / HOUR) * HOUR
    case 'day': return Math.floor(ms / DAY) * DAY
    case 'week': {
      const day = Math.floor(ms / DAY) * DAY
      const dow = (new Date(day).getUTCDay() + 6) % 7 // Monday = 0
      return day - dow * DAY
    }
    case 'month': {
      const d = new Date(ms)
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    }
  }
}

/** The end (exclusive) of the bucket starting at `start`. */
export function bucketEnd(unit: BucketUnit, start: number): number {
  switch (unit) {
    case 'minute': return start + MINUTE
    case 'hour': return start + HOUR
    case 'day': return start + DAY
    case 'week': return start + 7 * DAY
    case 'month': {
      const d = new Date(start)
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    }
  }
}
