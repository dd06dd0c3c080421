import { compileRegExpObject } from './regex.js'
import { deepEqual, norm } from './values.js'

/** A test of one value a path reached (undefined when the path reached nothing). */
export type ValueTest = (v: unknown) => boolean

/** Equality with MongoDB's array rule: a field holding an array matches if it equals the value or any element does. */
export function eqTest(target: unknown): ValueTest {
  if (target === null) return v => v === null || v === undefined
  return v => deepEqual(v, target) || (Array.isArray(v) && v.some(x => deepEqual(x, target)))
}

/** The key a primitive is looked up by: Dates by their instant, strings, numbers and booleans as they are. */
function setKey(v: unknown): string | number | boolean | undefined {
  const n = norm(v)
  if (typeof n === 'string' || typeof n === 'boolean') return n
  if (typeof n === 'number' && !Number.isNaN(n)) return n // NaN equals nothing, as in deepEqual
  return undefined
}

/**
 * `$in`: true when a value equals one of `list` (the same answer as eqTest over each entry, any
 * of them). Strings, numbers, booleans and Dates are looked up in a Set, so a row costs the
 * same whether the list holds ten values or a million; null, regular expressions, objects and
 * arrays keep their own tests.
 */
export function inTest(list: readonly unknown[]): ValueTest {
  const keys = new Set<unknown>()
  let hasNull = false
  const rest: ValueTest[] = []
  for (const a of list) {
    const k = setKey(a)
    if (k !== undefined) keys.add(k)
    else if (a === null) hasNull = true
    else if (a instanceof RegExp) rest.push(regexTest(a))
    else if (!(typeof a === 'number' && Number.isNaN(a))) rest.push(eqTest(a))
  }
  const inSet = (v: unknown): boolean => {
    const k = setKey(v)
    return k !== undefined && keys.has(k)
  }
  return v => {
    if (hasNull && (v === null || v === undefined)) return true
    if (keys.size > 0 && (inSet(v) || (Array.isArray(v) && v.some(inSet)))) return true
    return rest.length > 0 && rest.some(t => t(v))
  }
}

/** A RegExp on RE2 (linear time); it matches a string, or an array holding a matching string. */
export function regexTest(pattern: RegExp | { test(s: string): boolean }): ValueTest {
  const re = pattern instanceof RegExp ? compileRegExpObject(pattern) : pattern
  const one = (x: unknown) => typeof x === 'string' && re.test(x)
  return v => one(v) || (Array.isArray(v) && v.some(one))
}
