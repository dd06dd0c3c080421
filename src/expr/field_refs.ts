/**
 * The top-level fields a filter or an expression reads: which columns a scan must decode,
 * and what a view definition must find in its source.
 */
import { FILTER_LIMITS } from './limits.js'
import { ExprError } from './paths.js'

/** Recursion here follows the caller's nesting, so it stops at the same depth limit as compiling does. */
function deeper(depth: number): number {
  if (depth > FILTER_LIMITS.maxDepth) {
    throw new ExprError(`the filter nests deeper than ${FILTER_LIMITS.maxDepth} levels; flatten it`)
  }
  return depth + 1
}

/** Roots of the `'$field.path'` strings an aggregation expression reads. */
export function expressionRoots(expr: unknown, out = new Set<string>()): Set<string> {
  return exprRoots(expr, out, 1)
}

function exprRoots(expr: unknown, out: Set<string>, depth: number): Set<string> {
  if (typeof expr === 'string') {
    if (expr.startsWith('$') && !expr.startsWith('$$') && expr.length > 1) out.add(expr.slice(1).split('.')[0]!)
  } else if (Array.isArray(expr)) {
    const d = deeper(depth)
    for (const e of expr) exprRoots(e, out, d)
  } else if (expr && typeof expr === 'object' && !(expr instanceof Date) && !(expr instanceof RegExp)) {
    const d = deeper(depth)
    for (const [k, v] of Object.entries(expr)) if (k !== '$literal') exprRoots(v, out, d)
  }
  return out
}

/** Roots of the field paths a find() filter reads, `$expr` included. */
export function filterRoots(filter: unknown, out = new Set<string>()): Set<string> {
  return roots(filter, out, 1)
}

function roots(filter: unknown, out: Set<string>, depth: number): Set<string> {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter)) return out
  const d = deeper(depth)
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$expr') exprRoots(v, out, d)
    else if (k === '$and' || k === '$or' || k === '$nor') {
      if (Array.isArray(v)) for (const f of v) roots(f, out, d)
    } else if (k === '$not') roots(v, out, d)
    else if (!k.startsWith('$')) out.add(k.split('.')[0]!)
  }
  return out
}
