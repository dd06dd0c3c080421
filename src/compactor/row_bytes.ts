/**
 * A row group is cut at this many estimated bytes as well as at rowGroupRows. A merge holds
 * one row group per input (up to 16) and a read decodes a whole group: 2,000 rows of 50 KB (a
 * 100 MB group) ran a merge out of a 128 MB heap. With 2 MB groups that merge needs under 48 MB
 * of JS heap (4 MB groups: over 64 MB). Ordinary TailEvent records (~0.7 KB) still fill 2,000-row
 * groups; rich ones (1.6 KB, promoted columns included) about 1,300.
 */
export const ROW_GROUP_BYTES = 2 << 20

/**
 * About the JSON size of a row, cheaply: string lengths, 8 per number, key names, without
 * building the JSON text. Iterative, so a deeply nested value cannot overflow the stack.
 */
export function estimateBytes(value: unknown): number {
  let bytes = 0
  const stack: unknown[] = [value]
  while (stack.length) {
    const v = stack.pop()
    if (typeof v === 'string') bytes += v.length + 2
    else if (v === null || typeof v !== 'object') bytes += 8
    else if (Array.isArray(v)) {
      bytes += 2 + v.length
      for (const x of v) stack.push(x)
    } else {
      bytes += 2
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue
        bytes += k.length + 4
        stack.push((v as Record<string, unknown>)[k])
      }
    }
  }
  return bytes
}
