import type { ExprNode } from 'squirreling'
import { type ConstEnv, constValue } from '../sql_pushdown.js'
import type { ValueKind } from './table_columns.js'

/**
 * Expressions compiled to closures over an index: a row of a column batch, or a group of the
 * group table. Each follows the row engine (squirreling) exactly, so a query answers the same
 * on either path: comparisons with NULL are false (not NULL), `NOT NULL` is true, `a = b` is
 * JavaScript's loose equality, `x / 0` is NULL. Timestamps are epoch ms numbers here; where the
 * engine would treat a Date differently from its number (equality compares Date identity,
 * truthiness, sorting by text) the expression is refused and the query takes the row path.
 */
export type Kind = ValueKind | 'null' | 'any'

export type Eval<C> = (ctx: C, i: number) => unknown

export interface Compiled<C> {
  kind: Kind
  ev: Eval<C>
  /** Set when the value does not depend on the row (literals, parameters, NOW() ± INTERVAL). */
  constant?: { value: unknown }
}

/** Thrown while compiling: the query is outside the columnar path; the message says why. */
export class NotColumnar extends Error {
  override name = 'NotColumnar'
}

/**
 * Resolves the nodes that depend on where an expression runs (column references, aggregates,
 * group keys); undefined leaves the node to the common rules below.
 */
export type Leaf<C> = (node: ExprNode) => Compiled<C> | undefined

export function truthy(v: unknown): boolean {
  return !!v
}

export function compileExpr<C>(node: ExprNode, leaf: Leaf<C>, env: ConstEnv): Compiled<C> {
  const own = leaf(node)
  if (own) return own
  const sub = (n: ExprNode) => compileExpr(n, leaf, env)
  switch (node.type) {
    case 'literal': return constant(node.value)
    case 'identifier': throw new NotColumnar(`column ${node.prefix ? `${node.prefix}.` : ''}${node.name}`)
    case 'function': return compileFunction(node, sub, env)
    case 'unary': return compileUnary(node.op, sub(node.argument))
    case 'binary': {
      if (node.right.type === 'interval' || node.left.type === 'interval') {
        const c = constValue(node, env)
        if (!c) throw new NotColumnar('interval arithmetic on a non-constant')
        return constant(c.value)
      }
      return compileBinary(node.op, sub(node.left), sub(node.right))
    }
    case 'in valuelist': {
      const expr = sub(node.expr)
      const values = node.values.map(sub)
      if (expr.kind === 'time' || values.some(v => v.kind === 'time')) throw new NotColumnar('IN on a timestamp')
      const evs = values.map(v => v.ev)
      return {
        kind: 'boolean',
        ev: (c, i) => {
          const x = expr.ev(c, i)
          for (const v of evs) if (x == v(c, i)) return true
          return false
        },
      }
    }
    case 'case': return compileCase(node, sub)
    default: throw new NotColumnar(`${node.type} expression`)
  }
}

function constant<C>(value: unknown): Compiled<C> {
  let v = value === undefined ? null : value
  let kind: Kind
  if (v === null) kind = 'null'
  else if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new NotColumnar('an invalid Date')
    kind = 'time'
    v = v.getTime()
  } else if (typeof v === 'number') kind = 'number'
  else if (typeof v === 'string') kind = 'string'
  else if (typeof v === 'boolean') kind = 'boolean'
  else throw new NotColumnar(`a ${typeof v} constant`)
  const fixed = v
  return { kind, ev: () => fixed, constant: { value: fixed } }
}

/** A compiled node whose inputs are all constant is evaluated once. */
function folded<C>(out: Compiled<C>, inputs: Compiled<C>[]): Compiled<C> {
  if (!inputs.every(x => x.constant)) return out
  const value = out.ev(undefined as C, 0)
  return { kind: out.kind, ev: () => value, constant: { value } }
}

function compileUnary<C>(op: string, a: Compiled<C>): Compiled<C> {
  const ev = a.ev
  switch (op) {
    case '-': {
      const neg: Eval<C> = (c, i) => { const v = ev(c, i); return v == null ? null : -(v as number) }
      return folded({ kind: 'number', ev: neg }, [a])
    }
    case 'NOT':
      if (a.kind === 'time') throw new NotColumnar('NOT on a timestamp')
      return folded({ kind: 'boolean', ev: (c, i) => !ev(c, i) }, [a])
    case 'IS NULL': return folded({ kind: 'boolean', ev: (c, i) => ev(c, i) == null }, [a])
    case 'IS NOT NULL': return folded({ kind: 'boolean', ev: (c, i) => ev(c, i) != null }, [a])
    default: throw new NotColumnar(`operator ${op}`)
  }
}

function compileBinary<C>(op: string, a: Compiled<C>, b: Compiled<C>): Compiled<C> {
  const l = a.ev
  const r = b.ev
  const num = (f: (x: number, y: number) => number | null): Compiled<C> => folded({
    kind: 'number',
    ev: (c, i) => {
      const x = l(c, i)
      if (x == null) return null
      const y = r(c, i)
      return y == null ? null : f(Number(x), Number(y))
    },
  }, [a, b])
  const cmp = (f: (x: unknown, y: unknown) => boolean): Compiled<C> => {
    // Against a constant (the common `column op literal`): one call per row fewer.
    const k = b.constant && !a.constant ? b.constant.value : undefined
    if (k === null) return { kind: 'boolean', ev: () => false }
    if (k !== undefined) return { kind: 'boolean', ev: versus(l, op, k) }
    return folded({
      kind: 'boolean',
      ev: (c, i) => {
        const x = l(c, i)
        if (x == null) return false
        const y = r(c, i)
        return y == null ? false : f(x, y)
      },
    }, [a, b])
  }
  const anyTime = a.kind === 'time' || b.kind === 'time'
  switch (op) {
    case '+': return num((x, y) => x + y)
    case '-': return num((x, y) => x - y)
    case '*': return num((x, y) => x * y)
    case '/': return num((x, y) => (y === 0 ? null : x / y))
    case '%': return num((x, y) => (y === 0 ? null : x % y))
    case '=': case '==': case '!=': case '<>':
      // The engine compares Dates for equality by identity: leave that to it.
      if (anyTime) throw new NotColumnar(`${op} on a timestamp`)
      // eslint-disable-next-line eqeqeq
      return op === '!=' || op === '<>' ? cmp((x, y) => x != y) : cmp((x, y) => x == y)
    case '<': return cmp((x, y) => (x as number) < (y as number))
    case '<=': return cmp((x, y) => (x as number) <= (y as number))
    case '>': return cmp((x, y) => (x as number) > (y as number))
    case '>=': return cmp((x, y) => (x as number) >= (y as number))
    case 'AND': case 'OR': {
      if (anyTime) throw new NotColumnar(`${op} on a timestamp`)
      const and = op === 'AND'
      return folded({
        kind: 'boolean',
        ev: (c, i) => {
          const x = l(c, i)
          if (and ? !x : x) return !and
          if (x == null) return false
          const y = r(c, i)
          return y == null ? false : !!y
        },
      }, [a, b])
    }
    default: throw new NotColumnar(`operator ${op}`)
  }
}

/** `column op constant` as one closure (the constant is not NULL). */
function versus<C>(l: Eval<C>, op: string, k: unknown): Eval<C> {
  /* eslint-disable eqeqeq */
  switch (op) {
    case '=': case '==': return (c, i) => { const x = l(c, i); return x != null && x == k }
    case '!=': case '<>': return (c, i) => { const x = l(c, i); return x != null && x != k }
    case '<': return (c, i) => { const x = l(c, i) as number; return x != null && x < (k as number) }
    case '<=': return (c, i) => { const x = l(c, i) as number; return x != null && x <= (k as number) }
    case '>': return (c, i) => { const x = l(c, i) as number; return x != null && x > (k as number) }
    case '>=': return (c, i) => { const x = l(c, i) as number; return x != null && x >= (k as number) }
    default: throw new NotColumnar(`operator ${op}`)
  }
  /* eslint-enable eqeqeq */
}

/** The kind of a value that may come from any of several expressions. */
function unite(kinds: Kind[]): Kind {
  const real = [...new Set(kinds.filter(k => k !== 'null'))]
  if (real.length === 0) return 'null'
  if (real.length === 1) return real[0]!
  if (real.includes('time')) throw new NotColumnar('a timestamp mixed with other values')
  return 'any'
}

function compileCase<C>(node: Extract<ExprNode, { type: 'case' }>, sub: (n: ExprNode) => Compiled<C>): Compiled<C> {
  const subject = node.caseExpr ? sub(node.caseExpr) : undefined
  const whens = node.whenClauses.map(w => ({ cond: sub(w.condition), result: sub(w.result) }))
  const otherwise = node.elseResult ? sub(node.elseResult) : undefined
  if (subject?.kind === 'time' || whens.some(w => w.cond.kind === 'time')) throw new NotColumnar('CASE on a timestamp')
  const kind = unite([...whens.map(w => w.result.kind), otherwise ? otherwise.kind : 'null'])
  const conds = whens.map(w => w.cond.ev)
  const results = whens.map(w => w.result.ev)
  const other = otherwise?.ev
  const s = subject?.ev
  const n = conds.length
  return folded({
    kind,
    ev: (c, i) => {
      const sv = s ? s(c, i) : undefined
      for (let k = 0; k < n; k++) {
        const w = conds[k]!(c, i)
        // eslint-disable-next-line eqeqeq
        if (s ? sv == w : w) return results[k]!(c, i)
      }
      return other ? other(c, i) : null
    },
  }, [...(subject ? [subject] : []), ...whens.flatMap(w => [w.cond, w.result]), ...(otherwise ? [otherwise] : [])])
}

const MATH: Record<string, (x: number) => number> = {
  ABS: Math.abs, FLOOR: Math.floor, CEIL: Math.ceil, CEILING: Math.ceil,
}

function compileFunction<C>(
  node: Extract<ExprNode, { type: 'function' }>, sub: (n: ExprNode) => Compiled<C>, env: ConstEnv,
): Compiled<C> {
  const name = node.funcName.toUpperCase()
  if (node.filter || node.distinct) throw new NotColumnar(`${name} with DISTINCT or FILTER outside an aggregate`)
  const c = constValue(node, env)
  if (c) return constant(c.value)
  const args = node.args.map(sub)
  if (name === 'ROUND' && (args.length === 1 || args.length === 2)) {
    const digits = args[1]
    if (digits && !digits.constant) throw new NotColumnar('ROUND to a varying number of digits')
    const m = 10 ** Number(digits ? digits.constant!.value ?? 0 : 0)
    const x = args[0]!.ev
    const round: Eval<C> = (ctx, i) => { const v = x(ctx, i); return v == null ? null : Math.round(Number(v) * m) / m }
    return folded({ kind: 'number', ev: round }, args)
  }
  const math = MATH[name]
  if (math && args.length === 1) {
    const x = args[0]!.ev
    const f: Eval<C> = (ctx, i) => { const v = x(ctx, i); return v == null ? null : math(Number(v)) }
    return folded({ kind: 'number', ev: f }, args)
  }
  if (name === 'COALESCE' && args.length >= 1) {
    const evs = args.map(a => a.ev)
    return folded({
      kind: unite(args.map(a => a.kind)),
      ev: (ctx, i) => {
        for (const e of evs) {
          const v = e(ctx, i)
          if (v != null) return v
        }
        return null
      },
    }, args)
  }
  throw new NotColumnar(`function ${name}`)
}
