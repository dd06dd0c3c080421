import { type ExpressionEnv, compileExpression } from './expression.js'
import { ExprError, splitPath, valuesAt } from './paths.js'
import { compareSame, deepEqual, truthy } from './values.js'

export type Predicate = (doc: Record<string, unknown>) => boolean

/** A MongoDB-style filter: `{ field: literal }`, `{ field: { $op: ... } }`, `$and/$or/$nor/$not/$expr`. */
export type Filter = Record<string, unknown>

const FIELD_OPS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$regex', '$options', '$not'])
const TOP_OPS = new Set(['$and', '$or', '$nor', '$not', '$expr'])

function isOperatorObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date || v instanceof RegExp) return false
  const keys = Object.keys(v)
  return keys.length > 0 && keys.every(k => k.startsWith('$'))
}

/** Compiles a filter to a predicate; an unknown operator is an error that names it. */
export function compileFilter(filter: Filter | undefined, env: ExpressionEnv = {}): Predicate {
  if (filter === undefined || filter === null) return () => true
  if (typeof filter !== 'object' || Array.isArray(filter)) throw new ExprError(`a filter must be an object, got ${JSON.stringify(filter)}`)
  const parts: Predicate[] = []
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue
    if (key.startsWith('$')) {
      if (!TOP_OPS.has(key)) throw new ExprError(`unknown operator ${key}; a filter takes ${[...TOP_OPS].join(' ')} at the top level`)
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
    const p = compileFilter(value as Filter, env)
    return doc => !p(doc)
  }
  if (!Array.isArray(value) || value.length === 0) throw new ExprError(`${op} takes a non-empty array of filters`)
  const subs = value.map(v => compileFilter(v as Filter, env))
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
    if (!FIELD_OPS.has(op)) throw new ExprError(`unknown operator ${op} on ${path.join('.')}; supported: ${[...FIELD_OPS].join(' ')}`)
    if (op === '$options') {
      if (!('$regex' in cond)) throw new ExprError(`$options on ${path.join('.')} needs a $regex`)
      continue
    }
    tests.push(fieldOp(path, op, arg, cond, env))
  }
  return doc => tests.every(t => t(doc))
}

function fieldOp(path: string[], op: string, arg: unknown, cond: Record<string, unknown>, env: ExpressionEnv): Predicate {
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
      if (arg === null || arg === undefined) throw new ExprError(`${op} on ${path.join('.')} needs a value, got ${String(arg)}`)
      const ok = { $gt: (c: number) => c > 0, $gte: (c: number) => c >= 0, $lt: (c: number) => c < 0, $lte: (c: number) => c <= 0 }[op]
      return doc => at(doc).some(v => {
        const vals = Array.isArray(v) ? [v, ...v] : [v]
        return vals.some(x => { const c = compareSame(x, arg); return c !== null && ok(c) })
      })
    }
    case '$in': case '$nin': {
      if (!Array.isArray(arg)) throw new ExprError(`${op} on ${path.join('.')} takes an array, got ${JSON.stringify(arg)}`)
      const tests = arg.map(a => (a instanceof RegExp ? regexTest(a) : eqTest(a)))
      const hit = (doc: Record<string, unknown>) => {
        const vals = at(doc)
        return tests.some(t => anyValue(vals, t))
      }
      return op === '$in' ? hit : doc => !hit(doc)
    }
    case '$exists': {
      // Stored rows hold every schema field (null when absent), so null does not exist here.
      const want = truthy(arg)
      return doc => at(doc).some(v => v !== null && v !== undefined) === want
    }
    case '$regex': {
      const re = arg instanceof RegExp ? arg : new RegExp(String(arg), typeof cond.$options === 'string' ? cond.$options : '')
      const t = regexTest(re)
      return doc => anyValue(at(doc), t)
    }
    case '$not': {
      const inner = arg instanceof RegExp ? compileField(path, arg, env) : isOperatorObject(arg) ? compileField(path, arg, env) : null
      if (!inner) throw new ExprError(`$not on ${path.join('.')} takes an operator object or a regular expression`)
      return doc => !inner(doc)
    }
  }
  throw new ExprError(`unknown operator ${op}`)
}

type ValueTest = (v: unknown) => boolean

/** Equality with MongoDB's array rule: a field holding an array matches if it equals the value or any element does. */
function eqTest(target: unknown): ValueTest {
  if (target === null) return v => v === null || v === undefined
  return v => deepEqual(v, target) || (Array.isArray(v) && v.some(x => deepEqual(x, target)))
}

function regexTest(pattern: RegExp): ValueTest {
  // A global or sticky RegExp keeps state between test() calls; matching must not.
  const re = pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern
  return v => (typeof v === 'string' && re.test(v)) || (Array.isArray(v) && v.some(x => typeof x === 'string' && re.test(x)))
}

function anyValue(vals: unknown[], test: ValueTest): boolean {
  if (vals.length === 0) return test(undefined)
  return vals.some(test)
}
