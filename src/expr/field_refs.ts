/**
 * The top-level fields a filter or an expression reads: which columns a scan must decode,
 * and what a view definition must find in its source.
 */

/** Roots of the `'$field.path'` strings an aggregation expression reads. */
export function expressionRoots(expr: unknown, out = new Set<string>()): Set<string> {
  if (typeof expr === 'string') {
    if (expr.startsWith('$') && !expr.startsWith('$$') && expr.length > 1) out.add(expr.slice(1).split('.')[0]!)
  } else if (Array.isArray(expr)) {
    for (const e of expr) expressionRoots(e, out)
  } else if (expr && typeof expr === 'object' && !(expr instanceof Date) && !(expr instanceof RegExp)) {
    for (const [k, v] of Object.entries(expr)) if (k !== '$literal') expressionRoots(v, out)
  }
  return out
}

/** Roots of the field paths a find() filter reads, `$expr` included. */
export function filterRoots(filter: unknown, out = new Set<string>()): Set<string> {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter)) return out
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$expr') expressionRoots(v, out)
    else if (k === '$and' || k === '$or' || k === '$nor') { if (Array.isArray(v)) for (const f of v) filterRoots(f, out) }
    else if (k === '$not') filterRoots(v, out)
    else if (!k.startsWith('$')) out.add(k.split('.')[0]!)
  }
  return out
}
