import type { FieldSpec } from '../../src/schema/index.js'
import { PROTO_NAMES } from './arbitraries.js'

/**
 * The fuzz suite's model of what a stored value must read back as, written from the rule
 * ("every value is either stored so it reads back equal, or the event is rejected with a reason")
 * and the conversions the engine documents. Each check returns null when the row is right, or a
 * sentence saying where and how it is wrong.
 *
 * Documented conversions accepted here (and nothing else):
 * - a timestamp field: a Date, epoch ms or ISO string reads back as a Date of that instant (ms);
 * - inside variants, a Date reads back as its instant (a Date, its ISO string or its epoch ms);
 * - an Error reads back as `{ name, message, stack }`, as the runtime's own TraceItem exceptions
 *   (plus its own enumerable data and `cause`, which are data too);
 * - any other object with a `toJSON` method (URL) reads back as what that returns, as in JSON;
 * - `NaN` and `±Infinity` inside variants read back as null (README: "as JSON has no spelling");
 * - JSON's own rules for `undefined`: an object key holding it is absent, an array slot (or a
 *   hole of a sparse array) reads back as null;
 * - `-0` may read back as 0 (the two are `===`); a BigInt may read back as the same number when
 *   it is a safe integer.
 * - a boxed primitive reads back as its primitive; an instance of a user class as its own properties.
 * Anything else (Map, Set, RegExp, typed arrays and other built-ins, symbols, functions, invalid Dates,
 * throwing getters, cycles, BigInts beyond 2^53) cannot read back equal from JSON or Parquet, so its event must be rejected.
 */
export type Mismatch = string | null

const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z')
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Checks one row read by find() against the input event it came from. */
export function checkRow(fields: readonly FieldSpec[], input: object, row: Record<string, unknown>): Mismatch {
  const known = new Set(fields.map(f => f.name))
  for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(input))) {
    if (!known.has(k) && d.enumerable && (d.get || d.value !== undefined)) return `unknown field ${JSON.stringify(k)} was accepted`
  }
  for (const k of Object.keys(row)) if (!known.has(k)) return `row has a field ${JSON.stringify(k)} the schema lacks`
  for (const f of fields) {
    const d = Object.getOwnPropertyDescriptor(input, f.name)
    if (d?.get) return `${f.name}: a getter was stored`
    const m = checkField(f, d?.value, row[f.name])
    if (m) return `${f.name}${m.startsWith('[') || m.startsWith('.') ? '' : ': '}${m}`
  }
  return null
}

function checkField(f: FieldSpec, v: unknown, actual: unknown): Mismatch {
  if (f.array) {
    if (v === undefined || v === null) return Array.isArray(actual) && actual.length === 0 ? null : `missing array should read back as [], got ${show(actual)}`
    if (!Array.isArray(v)) return `a non-array (${show(v)}) was stored`
    if (!Array.isArray(actual) || actual.length !== v.length) return `expected an array of ${v.length}, got ${show(actual)}`
    for (let i = 0; i < v.length; i++) {
      const m = f.type === 'variant' ? checkVariant(i in v ? v[i] : undefined, actual[i], true, new Set()) : checkScalar(f, v[i], actual[i])
      if (m) return `[${i}]${m.startsWith('[') || m.startsWith('.') ? '' : ': '}${m}`
    }
    return null
  }
  if (v === undefined || v === null) {
    if (f.required) return `required but missing (${show(v)}), yet stored`
    return actual === null ? null : `missing value should read back as null, got ${show(actual)}`
  }
  return f.type === 'variant' ? checkVariant(v, actual, false, new Set()) : checkScalar(f, v, actual)
}

function checkScalar(f: FieldSpec, v: unknown, actual: unknown): Mismatch {
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') return `${show(v)} stored in a string field`
      return actual === v ? null : `expected ${show(v)}, got ${show(actual)}`
    case 'int':
      if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
        return actual === Number(v) ? null : `expected ${v}, got ${show(actual)}`
      }
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `${show(v)} stored in an int field`
      return actual === v ? null : `expected ${v}, got ${show(actual)}`
    case 'double':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${show(v)} stored in a double field`
      return actual === v ? null : `expected ${v}, got ${show(actual)}`
    case 'boolean':
      if (typeof v !== 'boolean') return `${show(v)} stored in a boolean field`
      return actual === v ? null : `expected ${v}, got ${show(actual)}`
    case 'timestamp': {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN
      if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME) return `${show(v)} is not a storable timestamp, yet stored`
      return actual instanceof Date && actual.getTime() === Math.trunc(ms) ? null : `expected the instant ${Math.trunc(ms)}, got ${show(actual)}`
    }
    case 'variant':
      return checkVariant(v, actual, false, new Set())
  }
}

/** A variant value against what it must read back as; `inArray` applies JSON's rule for undefined slots. */
export function checkVariant(v: unknown, actual: unknown, inArray: boolean, seen: Set<object>): Mismatch {
  if (v === undefined) return inArray && (actual === null || actual === undefined) ? null : !inArray && actual == null ? null : `undefined read back as ${show(actual)}`
  if (v === null) return actual === null ? null : `null read back as ${show(actual)}`
  switch (typeof v) {
    case 'string':
      return actual === v ? null : `${show(v)} read back as ${show(actual)}`
    case 'boolean':
      return actual === v ? null : `${v} read back as ${show(actual)}`
    case 'number':
      if (Number.isFinite(v)) return actual === v ? null : `${show(v)} read back as ${show(actual)}`
      return Object.is(actual, v) || actual === null ? null : `${v} read back as ${show(actual)}`
    case 'bigint':
      if (actual === v || (typeof actual === 'number' && Number.isSafeInteger(actual) && BigInt(actual) === v)) return null
      return `the BigInt ${v}n read back as ${show(actual)}`
    case 'symbol':
    case 'function':
      return `a ${typeof v} cannot be stored, yet the event was accepted (read back as ${show(actual)})`
  }
  const o = v as object
  if (seen.has(o)) return 'a cyclic value cannot be stored, yet the event was accepted'
  if (o instanceof Date) {
    const t = o.getTime()
    if (Number.isNaN(t)) return `an invalid Date cannot be stored, yet the event was accepted (read back as ${show(actual)})`
    if (actual instanceof Date ? actual.getTime() === t : actual === t || actual === o.toISOString()) return null
    return `the Date ${o.toISOString()} read back as ${show(actual)}`
  }
  if (o instanceof Error) {
    const want: Record<string, unknown> = { name: o.name, message: o.message }
    if (typeof o.stack === 'string') want.stack = o.stack
    for (const k of Object.keys(o)) want[k] = (o as unknown as Record<string, unknown>)[k]
    if (o.cause !== undefined) want.cause = o.cause
    if (!isRecord(actual)) return `the ${o.name} read back as ${show(actual)}, not { name, message, stack }`
    const m = checkVariant(want, actual, false, seen)
    return m ? `the ${o.name} as { name, message, stack }${m.startsWith('.') ? '' : ': '}${m}` : null
  }
  if (o instanceof Map || o instanceof Set) {
    const kind = o.constructor.name
    if (actual instanceof Map && o instanceof Map && actual.size === o.size) return null
    if (actual instanceof Set && o instanceof Set && actual.size === o.size) return null
    return `a ${kind} read back as ${show(actual)} (it must be rejected or read back as a ${kind})`
  }
  const proto = Object.getPrototypeOf(o) as unknown
  const toJSON = (o as { toJSON?: unknown }).toJSON
  if (proto !== Object.prototype && proto !== null && proto !== Array.prototype && typeof toJSON === 'function') {
    const m = checkVariant(toJSON.call(o), actual, inArray, seen)
    return m ? `a ${o.constructor.name} as its toJSON()${m.startsWith('.') || m.startsWith('[') ? '' : ': '}${m}` : null
  }
  const tag = Object.prototype.toString.call(o).slice(8, -1)
  if (tag === 'String' || tag === 'Number' || tag === 'Boolean') {
    const m = checkVariant((o as { valueOf(): unknown }).valueOf(), actual, inArray, seen)
    return m ? `a boxed ${tag.toLowerCase()}: ${m}` : null
  }
  if (tag !== 'Object' && tag !== 'Array') return `a ${tag} (a built-in whose data JSON cannot see) read back as ${show(actual)}`
  seen.add(o)
  try {
    if (Array.isArray(o)) {
      if (!Array.isArray(actual)) return `an array read back as ${show(actual)}`
      if (actual.length !== o.length) return `an array of ${o.length} read back with ${actual.length} elements`
      for (let i = 0; i < o.length; i++) {
        const m = checkVariant(i in o ? o[i] : undefined, actual[i], true, seen)
        if (m) return `[${i}]${m.startsWith('[') || m.startsWith('.') ? '' : ': '}${m}`
      }
      return null
    }
    if (!isRecord(actual)) return `an object read back as ${show(actual)}`
    const descriptors = Object.getOwnPropertyDescriptors(o) as Record<string, PropertyDescriptor>
    for (const [k, d] of Object.entries(descriptors)) {
      if (!d.enumerable) continue
      const at = `.${JSON.stringify(k)}`
      if (d.get) return `${at}: a throwing or computed getter cannot be read safely, yet the event was accepted`
      if (d.value === undefined) {
        if (Object.hasOwn(actual, k) && actual[k] !== undefined) return `${at}: undefined read back as ${show(actual[k])}`
        continue
      }
      if (!Object.hasOwn(actual, k)) return `${at}: key dropped (read back without it)`
      const m = checkVariant(d.value, actual[k], false, seen)
      if (m) return `${at}${m.startsWith('[') || m.startsWith('.') ? '' : ': '}${m}`
    }
    for (const k of Object.keys(actual)) {
      if (!Object.hasOwn(descriptors, k) && actual[k] !== undefined) return `.${JSON.stringify(k)}: a key the input lacks appeared`
    }
    return null
  } finally {
    seen.delete(o)
  }
}

/**
 * Whether an event is plain JSON data of the schema's types, which a store must accept and keep:
 * no hostile value, no Object.prototype names as keys, moderate sizes.
 */
export function mustStore(fields: readonly FieldSpec[], input: unknown): boolean {
  if (!isRecord(input)) return false
  const known = new Set(fields.map(f => f.name))
  for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(input))) {
    if (d.get || (!known.has(k) && d.value !== undefined)) return false
  }
  return fields.every(f => {
    const v = input[f.name]
    if (v === undefined || v === null) return !f.required
    if (f.array) return Array.isArray(v) && Array.from(v, (x, i) => i in v && plainScalar(f, x)).every(Boolean)
    return plainScalar(f, v)
  })
}

function plainScalar(f: FieldSpec, v: unknown): boolean {
  switch (f.type) {
    case 'string': return typeof v === 'string' && plainString(v)
    case 'int': return typeof v === 'number' && Number.isSafeInteger(v)
    case 'double': return typeof v === 'number' && Number.isFinite(v)
    case 'boolean': return typeof v === 'boolean'
    case 'timestamp': {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN
      return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME
    }
    case 'variant': return plainJson(v, 0)
  }
}

function plainString(s: string): boolean {
  return s.length <= 10_000 && !LONE_SURROGATE.test(s)
}

function plainJson(v: unknown, depth: number): boolean {
  if (depth > 16) return false
  if (v === null || typeof v === 'boolean') return true
  if (typeof v === 'string') return plainString(v)
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0)
  if (Array.isArray(v)) return v.length === Object.keys(v).length && v.every(x => plainJson(x, depth + 1))
  if (typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false
  return Object.entries(Object.getOwnPropertyDescriptors(v)).every(([k, d]) =>
    d.enumerable && !d.get && !(PROTO_NAMES as readonly string[]).includes(k) && plainString(k) && plainJson(d.value, depth + 1))
}

/** Strict deep equality (Object.is on leaves): where two reads of one row differ, or null. */
export function differ(a: unknown, b: unknown, at = ''): Mismatch {
  if (Object.is(a, b)) return null
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime() ? null : `${at}: ${show(a)} vs ${show(b)}`
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${a.length} vs ${b.length} elements`
    for (let i = 0; i < a.length; i++) {
      const m = differ(a[i], b[i], `${at}[${i}]`)
      if (m) return m
    }
    return null
  }
  if (isRecord(a) && isRecord(b) && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    for (const k of keys) {
      if (Object.hasOwn(a, k) !== Object.hasOwn(b, k)) return `${at}.${k}: present in only one (${show(a[k])} vs ${show(b[k])})`
      const m = differ(a[k], b[k], `${at}.${k}`)
      if (m) return m
    }
    return null
  }
  return `${at}: ${show(a)} vs ${show(b)}`
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A short, safe description of a value for failure messages. */
export function show(v: unknown): string {
  try {
    if (typeof v === 'string') {
      const esc = JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…(${v.length})` : v)
      return esc.replace(/[\uD800-\uDFFF]/g, c => `\\u${c.charCodeAt(0).toString(16)}`)
    }
    if (typeof v === 'bigint') return `${v}n`
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v)
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : `Date(${v.toISOString()})`
    if (v === undefined || typeof v === 'symbol' || typeof v === 'function') return String(typeof v === 'symbol' ? v.toString() : v === undefined ? 'undefined' : 'a function')
    const json = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))
    return json.length > 120 ? `${json.slice(0, 120)}…` : json
  } catch {
    return Object.prototype.toString.call(v)
  }
}
