import { checkDepth } from './limits.js'
import { ExprError, getPath, splitPath } from './paths.js'
import { compareSame, deepEqual, norm, truthy } from './values.js'

/** A compiled aggregation expression: a function of one document. */
export type Evaluator = (doc: Record<string, unknown>) => unknown

/** Hook for operators that need set-up elsewhere (`$hash` needs xxhash's wasm loaded). */
export interface ExpressionEnv {
  hash?: (value: unknown) => bigint
}

type Op = (args: Evaluator[], raw: unknown, env: ExpressionEnv) => Evaluator

const num = (v: unknown): number | null => {
  const n = norm(v)
  return typeof n === 'number' ? n : null
}

function arity(name: string, raw: unknown, n: number): void {
  if (!Array.isArray(raw) || raw.length !== n) {
    throw new ExprError(`${name} takes an array of ${n} expressions, got ${JSON.stringify(raw)}`)
  }
}

function arith(name: string, f: (a: number, b: number) => number | null): Op {
  return (args, raw) => {
    arity(name, raw, 2)
    const [a, b] = args as [Evaluator, Evaluator]
    return doc => {
      const x = num(a(doc))
      const y = num(b(doc))
      return x === null || y === null ? null : f(x, y)
    }
  }
}

function compare(name: string, test: (c: number) => boolean): Op {
  return (args, raw) => {
    arity(name, raw, 2)
    const [a, b] = args as [Evaluator, Evaluator]
    return doc => {
      const c = compareSame(a(doc), b(doc))
      return c === null ? false : test(c)
    }
  }
}

const OPS: Record<string, Op> = {
  $eq: (args, raw) => { arity('$eq', raw, 2); return doc => deepEqual(args[0]!(doc), args[1]!(doc)) },
  $ne: (args, raw) => { arity('$ne', raw, 2); return doc => !deepEqual(args[0]!(doc), args[1]!(doc)) },
  $gt: compare('$gt', c => c > 0),
  $gte: compare('$gte', c => c >= 0),
  $lt: compare('$lt', c => c < 0),
  $lte: compare('$lte', c => c <= 0),
  $and: args => doc => args.every(a => truthy(a(doc))),
  $or: args => doc => args.some(a => truthy(a(doc))),
  $not: (args, raw) => {
    if (Array.isArray(raw) && raw.length !== 1) {
      throw new ExprError(`$not takes one expression, got ${JSON.stringify(raw)}`)
    }
    return doc => !truthy(args[0]!(doc))
  },
  $add: args => doc => {
    let sum = 0
    for (const a of args) {
      const v = num(a(doc))
      if (v === null) return null
      sum += v
    }
    return sum
  },
  $multiply: args => doc => {
    let p = 1
    for (const a of args) {
      const v = num(a(doc))
      if (v === null) return null
      p *= v
    }
    return p
  },
  $subtract: arith('$subtract', (a, b) => a - b),
  $divide: arith('$divide', (a, b) => (b === 0 ? null : a / b)),
  $mod: arith('$mod', (a, b) => (b === 0 ? null : a % b)),
  $ifNull: (args, raw) => {
    if (!Array.isArray(raw) || raw.length < 2) {
      throw new ExprError(`$ifNull takes [expression, ..., replacement], got ${JSON.stringify(raw)}`)
    }
    return doc => {
      for (const a of args) {
        const v = a(doc)
        if (v !== null && v !== undefined) return v
      }
      return null
    }
  },
  $toString: (args, raw) => {
    if (Array.isArray(raw) && raw.length !== 1) throw new ExprError(`$toString takes one expression`)
    return doc => {
      const v = args[0]!(doc)
      if (v === null || v === undefined) return null
      if (v instanceof Date) return v.toISOString()
      return typeof v === 'object' ? JSON.stringify(v) : String(v)
    }
  },
  $cond: (args, raw) => {
    if (Array.isArray(raw)) {
      arity('$cond', raw, 3)
      const [c, t, e] = args as [Evaluator, Evaluator, Evaluator]
      return doc => (truthy(c(doc)) ? t(doc) : e(doc))
    }
    throw new ExprError('unreachable')
  },
  $hash: (args, raw, env) => {
    if (Array.isArray(raw) && raw.length !== 1) throw new ExprError('$hash takes one expression')
    // The hash function is loaded asynchronously and set on `env` before queries run.
    // A 64-bit hash as a Number would lose its low bits; the low 52 bits keep `$mod` exact.
    return doc => {
      if (!env.hash) throw new ExprError('$hash is not available yet: the xxhash wasm has not been loaded')
      return Number(env.hash(args[0]!(doc)) & 0xfffffffffffffn)
    }
  },
}

/**
 * Compiles a MongoDB aggregation expression: `'$field.path'` reads a field, arrays and
 * plain objects build values, `{ $op: args }` applies an operator, anything else is a
 * literal. Unknown operators, and nesting past the filter depth limit, are an error that names them.
 */
export function compileExpression(expr: unknown, env: ExpressionEnv = {}): Evaluator {
  checkDepth(expr, 'the expression')
  return compile(expr, env)
}

function compile(expr: unknown, env: ExpressionEnv): Evaluator {
  if (typeof expr === 'string' && expr.startsWith('$')) {
    if (expr.startsWith('$$')) throw new ExprError(`variables like ${expr} are not supported`)
    const parts = splitPath(expr.slice(1))
    return doc => getPath(doc, parts)
  }
  if (Array.isArray(expr)) {
    const items = expr.map(e => compile(e, env))
    return doc => items.map(f => f(doc))
  }
  if (expr === null || typeof expr !== 'object' || expr instanceof Date || expr instanceof RegExp) return () => expr
  const keys = Object.keys(expr)
  const opKeys = keys.filter(k => k.startsWith('$'))
  if (opKeys.length === 0) {
    const fields = keys.map(k => [k, compile((expr as Record<string, unknown>)[k], env)] as const)
    return doc => Object.fromEntries(fields.map(([k, f]) => [k, f(doc)]))
  }
  if (keys.length !== 1) throw new ExprError(`an expression object holds exactly one operator, got ${keys.join(', ')}`)
  const name = keys[0]!
  const raw = (expr as Record<string, unknown>)[name]
  if (name === '$literal') return () => raw
  if (name === '$cond' && raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const { if: c, then: t, else: e } = raw as Record<string, unknown>
    return compile({ $cond: [c, t, e] }, env)
  }
  const op = Object.hasOwn(OPS, name) ? OPS[name] : undefined
  if (!op) {
    const supported = [...Object.keys(OPS), '$literal'].join(' ')
    throw new ExprError(`unknown expression operator ${name}; supported: ${supported}`)
  }
  const argList = Array.isArray(raw) ? raw : [raw]
  return op(argList.map(a => compile(a, env)), raw, env)
}
