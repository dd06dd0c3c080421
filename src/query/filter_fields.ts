import type { Filter } from '../expr/index.js'

/**
 * The top-level fields a filter reads, so a scan decodes only those columns; null when
 * it cannot tell (an `$expr` may read anything), which means every field.
 */
export function filterRoots(filter: Filter | undefined): Set<string> | null {
  const out = new Set<string>()
  const walk = (f: unknown): boolean => {
    if (!f || typeof f !== 'object') return true
    for (const [k, v] of Object.entries(f)) {
      if (k === '$expr') return false
      if (k === '$and' || k === '$or' || k === '$nor') {
        if (!Array.isArray(v) || !v.every(walk)) return false
      } else if (k === '$not') {
        if (!walk(v)) return false
      } else if (!k.startsWith('$')) {
        out.add(k.split('.')[0]!)
      }
    }
    return true
  }
  return walk(filter) ? out : null
}
