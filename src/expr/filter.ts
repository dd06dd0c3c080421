import { type ExpressionEnv, compileExpression } from './expression.js'
import { checkDepth, checkInLength } from './limits.js'
import { type ValueTest, eqTest, inTest, regexTest } from './membership.js'
import { ExprError, splitPath, valuesAt } from './paths.js'
import { compileRegex } from './regex.js'
import { compareSame, truthy } from './values.js'

export type Predicate = (doc: Record<string, unknown>) => boolean

/** A MongoDB-style filter: `{ field: literal }`, `{ field: { $op: ... } }`, `$and/$or/$nor/$not/$expr`. */
export type Filter = Record<string, unknown>

const FIELD_OPS = new Set([
  '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$regex', '$options', '$not',
])
const TOP_OPS = new Set(['$and', '$or', '$nor', '$not', '$expr'])

function isOperatorObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date || v instanceof RegExp) return false
  const keys = Object.keys(v)
  return keys.length > 0 && keys.every(k => k.startsWith('$'))
}

/**
 * Compiles a filter to a predicate; an unknown operator, an unsupported regular expression or a
 * filter past the limits (nesting, `$in` length) is an error that names it, thrown here, before any row is read.
 */
export function compileFilter(filter: Filter | undefined, env: ExpressionEnv = {}): Predicate {
  if (filter === undefined || filter === null) return () => true
  checkDepth(filter, 'the filter')
  return compileNode(filter, env)
}

function compileNode(filter: Filter, env: ExpressionEnv): Predicate {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new ExprError(`a filter must be an object, got ${JSON.stringify(filter)}`)
  }
  const parts: Predicate[] = []
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue
    if (key.startsWith('$')) {
      if (!TOP_OPS.has(key)) {
        throw new ExprError(`unknown operator ${key}; a filter takes ${[...TOP_OPS].join(' ')} at the top level`)
      }
      parts.push(compileTop(key, value, env))
    } else {
      parts.push(compileField(splitPath(key), value, env))
    }
  }
  if (parts.length === 1) return parts[0]!
  return doc => parts.every(p => p(doc))
}

function compileTop(op: string, value: unknown, env: ExpressionEnv): Predicate {
  if (op === '$expr') {
    const f = compileExpression(value, env)
    return doc => truthy(f(doc))
  }
  if (op === '$not') {
    const p = compileNode(value as Filter, env)
    return doc => !p(doc)
  }
  if (!Array.isArray(value) || value.length === 0) throw new ExprError(`${op} takes a non-empty array of filters`)
  const subs = value.map(v => compileNode(v as Filter, env))
  if (op === '$and') return doc => subs.every(p => p(doc))
  if (op === '$or') return doc => subs.some(p => p(doc))
  return doc => !subs.some(p => p(doc)) // $nor
}

function compileField(path: string[], cond: unknown, env: ExpressionEnv): Predicate {
  if (!isOperatorObject(cond)) {
    const test = cond instanceof RegExp ? regexTest(cond) : eqTest(cond)
    return doc => anyValue(valuesAt(doc, path), test)
  }
  const tests: Predicate[] = []
  for (const [op, arg] of Object.entries(cond)) {
    if (!FIELD_OPS.has(op)) {
      throw new ExprError(`unknown operator ${op} on ${path.join('.')}; supported: ${[...FIELD_OPS].join(' ')}`)
    }
    if (op === '$options') {
      if (!Object.hasOwn(cond, '$regex')) throw new ExprError(`$options on ${path.join('.')} needs a $regex`)
      continue
    }
    tests.push(fieldOp(path, op, arg, cond, env))
  }
  return doc => tests.every(t => t(doc))
}

function fieldOp(
  path: string[], op: string, arg: unknown, cond: Record<string, unknown>, env: ExpressionEnv,
): Predicate {
  const at = (doc: Record<string, unknown>) => valuesAt(doc, path)
  switch (op) {
    case '$eq': {
      const t = eqTest(arg)
      return doc => anyValue(at(doc), t)
    }
    case '$ne': {
      const t = eqTest(arg)
      return doc => !anyValue(at(doc), t)
    }
    case '$gt': case '$gte': case '$lt': case '$lte': {
      if (arg === null || arg === undefined) {
        throw new ExprError(`${op} on ${path.join('.')} needs a value, got ${String(arg)}`)
      }
      const ok = {
        $gt: (c: number) => c > 0, $gte: (c: number) => c >= 0, $lt: (c: number) => c < 0, $lte: (c: number) => c <= 0,
      }[op]
      return doc => at(doc).some(v => {
        const vals = Array.isArray(v) ? [v, ...v] : [v]
        return vals.some(x => { const c = compareSame(x, arg); return c !== null && ok(c) })
      })
    }
    case '$in': case '$nin': {
      if (!Array.isArray(arg)) {
        throw new ExprError(`${op} on ${path.join('.')} takes an array, got ${JSON.stringify(arg)}`)
      }
      checkInLength(op, path.join('.'), arg.length)
      const t = inTest(arg)
      return op === '$in' ? doc => anyValue(at(doc), t) : doc => !anyValue(at(doc), t)
    }
    case '$exists': {
      // Stored rows hold every schema field (null when absent), so null does not exist here.
      const want = truthy(arg)
      return doc => at(doc).some(v => v !== null && v !== undefined) === want
    }
    case '$regex': {
      const t = regexTest(regexArg(path, arg, cond.$options))
      return doc => anyValue(at(doc), t)
    }
    case '$not': {
      const inner = arg instanceof RegExp || isOperatorObject(arg) ? compileField(path, arg, env) : null
      if (!inner) throw new ExprError(`$not on ${path.join('.')} takes an operator object or a regular expression`)
      return doc => !inner(doc)
    }
  }
  throw new ExprError(`unknown operator ${op}`)
}

/** `$regex` with `$options`, on RE2: a string pattern, or a RegExp whose flags join the options. */
function regexArg(path: string[], pattern: unknown, options: unknown): { test(s: string): boolean } {
  if (options !== undefined && typeof options !== 'string') {
    throw new ExprError(
      `$options on ${path.join('.')} takes a string of flags such as "i", got ${JSON.stringify(options)}`,
    )
  }
  if (pattern instanceof RegExp) return compileRegex(pattern.source, pattern.flags + (options ?? ''))
  if (typeof pattern !== 'string') {
    throw new ExprError(`$regex on ${path.join('.')} takes a string or a RegExp, got ${JSON.stringify(pattern)}`)
  }
  return compileRegex(pattern, options ?? '')
}

function anyValue(vals: unknown[], test: ValueTest): boolean {
  if (vals.length === 0) return test(undefined)
  return vals.some(test)
}
