/** The bench's shared scenario: BENCH_EVENTS TailEvents over the 24 h from T0, written in batches of BATCH. */
export const EVENTS = Number(process.env.BENCH_EVENTS ?? 30_000)
export const BATCH = 50
export const HOUR = 3_600_000
export const T0 = Date.parse('2024-01-15T00:00:00Z')
/** An hour after the last event: every hour is quiet. */
export const NOW = T0 + 25 * HOUR
