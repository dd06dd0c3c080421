import { type ExprNode, type Statement, type UserDefinedFunction, derivedAlias } from 'squirreling'
import { ExprError, type SafeRegex, compileRegex } from '../expr/index.js'
import type { QueryBudget } from './budget.js'

/**
 * The engine runs REGEXP_MATCHES and LIKE on JavaScript's backtracking RegExp, where a pattern
 * such as `(a+)+$` or `'%a%a%a%b'` takes exponential or high-polynomial time on a long value.
 * A parsed statement is rewritten to call our own versions instead, which match on RE2
 * (compileRegex: linear time). The engine checks its built-in names before user-defined
 * functions, so the calls are renamed to names SQL text cannot reach.
 */
const MATCHES = '\u0000REGEXP_MATCHES'
const LIKE = '\u0000LIKE'

/** Regex functions whose answer needs match positions, which RE2 here does not report yet. */
const REFUSED = new Set(['REGEXP_SUBSTR', 'REGEXP_EXTRACT', 'REGEXP_REPLACE'])

/** Compiled patterns kept per query: a pattern is usually a constant, compiled once. */
const CACHE_SIZE = 64

/** Rewrites the statement in place; throws ExprError for a regex function that cannot run safely. */
export function useSafeRegex(statement: Statement): void {
  // Keep the output names of select columns that hold a rewritten call.
  visit(statement, node => {
    if (node.type !== 'select') return
    for (const col of node.columns as { type: string; expr?: ExprNode; alias?: string }[]) {
      if (col.type === 'derived' && col.expr && !col.alias && mentions(col.expr)) col.alias = derivedAlias(col.expr)
    }
  })
  visit(statement, node => {
    if (node.type === 'function' && typeof node.funcName === 'string') {
      const name = node.funcName.toUpperCase()
      if (REFUSED.has(name)) {
        throw new ExprError(`${name} is not supported: its engine backtracks, so one pattern could stall the query; ` +
          'test with REGEXP_MATCHES or LIKE, or cut with SUBSTRING, INSTR and REPLACE')
      }
      if (name === 'REGEXP_MATCHES') node.funcName = MATCHES
    }
    if (node.type === 'binary' && node.op === 'LIKE') {
      const { left, right } = node as { left: ExprNode; right: ExprNode }
      for (const k of Object.keys(node)) if (k !== 'positionStart' && k !== 'positionEnd') delete node[k]
      Object.assign(node, { type: 'function', funcName: LIKE, args: [left, right], distinct: false })
    }
  })
}

/** The functions the rewritten calls name; compiled patterns are cached for the query. */
export function safeRegexFunctions(budget?: QueryBudget): Record<string, UserDefinedFunction> {
  const cache = new Map<string, SafeRegex>()
  const compiled = (key: string, make: () => SafeRegex): SafeRegex => {
    let re = cache.get(key)
    if (!re) {
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
      cache.set(key, (re = make()))
    }
    return re
  }
  return {
    [MATCHES]: {
      arguments: { min: 2, max: 2 },
      apply: (value, pattern) => {
        if (value == null || pattern == null) return null
        budget?.check()
        const p = String(pattern)
        return compiled(`r${p}`, () => compileFor('REGEXP_MATCHES', p, '')).test(String(value))
      },
    },
    [LIKE]: {
      arguments: { min: 2, max: 2 },
      // As the engine's LIKE: NULL on either side is false, case is ignored.
      apply: (value, pattern) => {
        if (value == null || pattern == null) return false
        budget?.check()
        const p = String(pattern)
        return compiled(`l${p}`, () => compileFor('LIKE', likeToRegex(p), 'is')).test(String(value))
      },
    },
  }
}

function compileFor(fn: string, pattern: string, flags: string): SafeRegex {
  try {
    return compileRegex(pattern, flags)
  } catch (e) {
    throw new ExprError(`${fn}: ${(e as Error).message}`)
  }
}

/**
 * `%` is any run of characters (newlines included), `_` any one character, everything else
 * itself; the whole value must match.
 */
export function likeToRegex(pattern: string): string {
  let out = '^'
  for (const c of pattern) {
    if (c === '%') out += '.*'
    else if (c === '_') out += '.'
    else out += /[\\^$.|?*+()[\]{}]/.test(c) ? `\\${c}` : c
  }
  return `${out}$`
}

function mentions(node: unknown): boolean {
  let found = false
  visit(node, n => {
    if ((n.type === 'function' && typeof n.funcName === 'string' && n.funcName.toUpperCase() === 'REGEXP_MATCHES') ||
      (n.type === 'binary' && n.op === 'LIKE')) found = true
  })
  return found
}

/** Calls `fn` on every AST object under `node`, parents first. */
function visit(node: unknown, fn: (n: Record<string, unknown> & { type?: unknown }) => void): void {
  if (node === null || typeof node !== 'object') return
  if (Array.isArray(node)) {
    for (const n of node) visit(n, fn)
    return
  }
  const o = node as Record<string, unknown>
  fn(o)
  for (const v of Object.values(o)) visit(v, fn)
}
