/** Hour partitions: `dt=YYYY-MM-DD/hour=HH`, in UTC. */
const HOUR = 3_600_000

export function partitionOf(ms: number): string {
  const d = new Date(Math.floor(ms / HOUR) * HOUR)
  const iso = d.toISOString()
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`
}

/** [start, end) of a partition in ms. */
export function partitionRange(partition: string): [number, number] {
  const m = /^dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})$/.exec(partition)
  if (!m) throw new RangeError(`not a partition name: ${partition}`)
  const start = Date.parse(`${m[1]}T${m[2]}:00:00.000Z`)
  return [start, start + HOUR]
}

/** Partitions overlapping [from, to). */
export function partitionsBetween(from: number, to: number): string[] {
  const out: string[] = []
  for (let t = Math.floor(from / HOUR) * HOUR; t < to; t += HOUR) out.push(partitionOf(t))
  return out
}

export function dataPrefix(prefix: string, collection: string): string {
  return `${prefix}data/${collection}/`
}
