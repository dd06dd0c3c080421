import fc from 'fast-check'

/**
 * fast-check arbitraries for the fuzz suite: TailEvents inputs shaped like real TraceItems, with
 * hostile values hidden inside them.
 *
 * An arbitrary yields a *recipe* (plain tuples), never the hostile value itself: recipes print
 * readably in a counterexample (a throwing getter or a cycle cannot be printed), shrink well, and
 * `build()` makes a fresh value from one whenever a test needs it.
 */
export type V =
  | ['str', string]
  | ['num', number]
  | ['bool', boolean]
  | ['null']
  | ['undef']
  | ['big', string]
  | ['date', number]
  | ['err', string, string, ([string, V][] | undefined)?, (V | undefined)?]
  | ['map', [string, V][]]
  | ['set', V[]]
  | ['url', string]
  | ['sym', string]
  | ['fn']
  | ['arr', V[]]
  | ['sparse', number, [number, V][]]
  | ['obj', [string, V][]]
  | ['nullproto', [string, V][]]
  | ['getter', string, [string, V][]]
  | ['deep', number, boolean, V]
  | ['long', number, string]
  | ['cycle']
  | ['regexp', string]
  | ['bytes', number]
  | ['boxed', string | number | boolean]
  | ['inst', [string, V][]]

/** How eventTimestamp is given: as a Date, epoch ms or ISO string of the event's instant, or something invalid. */
export type TsRecipe = ['date'] | ['ms'] | ['iso'] | ['bad', V]

export interface EventRecipe {
  /** Hour (from the test's T0) the event falls in. */
  hour: number
  ts: TsRecipe
  /** Fields in input order; eventTimestamp is added by build from `ts`. */
  fields: [string, V][]
}

/** Names that are members of Object.prototype (or special to it): as keys they must be stored as plain data. */
export const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'] as const

const HOUR = 3_600_000

// ---------------------------------------------------------------- building values from recipes

/** A fresh value from a recipe. Keys are defined as own data properties, so `__proto__` stays a key. */
export function build(r: V): unknown {
  switch (r[0]) {
    case 'str': return r[1]
    case 'num': return r[1]
    case 'bool': return r[1]
    case 'null': return null
    case 'undef': return undefined
    case 'big': return BigInt(r[1])
    case 'date': return new Date(r[1])
    case 'err': return makeError(r[1], r[2], r[3], r[4])
    case 'map': return new Map(r[1].map(([k, v]) => [k, build(v)]))
    case 'set': return new Set(r[1].map(build))
    case 'url': return new URL(r[1])
    case 'sym': return Symbol(r[1])
    case 'fn': return function hostile() { return 1 }
    case 'arr': return r[1].map(build)
    case 'sparse': {
      const a: unknown[] = new Array(r[1])
      for (const [i, v] of r[2]) if (i < r[1]) a[i] = build(v)
      return a
    }
    case 'obj': return defineAll({}, r[1])
    case 'nullproto': return defineAll(Object.create(null) as object, r[1])
    case 'getter': {
      const o = defineAll({}, r[2])
      const message = r[1]
      Object.defineProperty(o, 'boom', { enumerable: true, configurable: true, get() { throw new Error(message) } })
      return o
    }
    case 'deep': {
      let v = build(r[3])
      for (let i = 0; i < r[1]; i++) v = r[2] ? [v] : { d: v }
      return v
    }
    case 'long': return r[2].repeat(Math.ceil(r[1] / Math.max(1, r[2].length))).slice(0, r[1])
    case 'regexp': return new RegExp(r[1], 'g')
    case 'bytes': return new Uint8Array(r[1]).fill(7)
    // eslint-disable-next-line no-new-wrappers
    case 'boxed': return Object(r[1]) as object
    case 'inst': return defineAll(new Invocation(), r[1])
    case 'cycle': {
      const o: Record<string, unknown> = { a: 1 }
      o.self = o
      return o
    }
  }
}

/** A user class, as the runtime's own TraceItem parts are: its instances' own fields are data. */
class Invocation {
  get kind(): string { return 'fetch' }
  describe(): string { return 'an invocation' }
}

function defineAll(target: object, entries: [string, V][]): object {
  for (const [k, v] of entries) Object.defineProperty(target, k, { value: build(v), enumerable: true, writable: true, configurable: true })
  return target
}

/** An Error of that name, with own data (`code`, ...) and a `cause` when given, as thrown errors often carry. */
function makeError(name: string, message: string, data?: [string, V][], cause?: V): Error {
  const ctor = ({ TypeError, RangeError, SyntaxError } as Record<string, ErrorConstructor>)[name] ?? Error
  const e = cause ? new ctor(message, { cause: build(cause) }) : new ctor(message)
  if (e.name !== name) e.name = name
  if (data) defineAll(e, data)
  return e
}

/** The input event of a recipe, its timestamp the unique instant T0 + hour + index ms. */
export function buildEvent(r: EventRecipe, index: number, t0: number): Record<string, unknown> {
  const out = {} as Record<string, unknown>
  const instant = instantOf(r, index, t0)
  const ts = r.ts[0] === 'date' ? new Date(instant) : r.ts[0] === 'ms' ? instant : r.ts[0] === 'iso' ? new Date(instant).toISOString() : build(r.ts[1])
  Object.defineProperty(out, 'eventTimestamp', { value: ts, enumerable: true, writable: true, configurable: true })
  defineAll(out, r.fields)
  return out
}

export function instantOf(r: EventRecipe, index: number, t0: number): number {
  return t0 + r.hour * HOUR + index
}

// ---------------------------------------------------------------- arbitraries

const LONE = ['\uD800', '\uDFFF', 'a\uDC00b', 'x\uD83D', '\uDE00y']

/** Strings: ordinary, any code point, with lone surrogates, and a few special spellings. */
export const stringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 4 }), fc.constantFrom(...LONE)).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.constantFrom('', '__proto__', 'null', '\u0000', 'é', '😀', '\u2028', '{"a":1}') },
)

const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'id', 'path', 'x y', '0', '1', '', 'a.b', '$gt', 'é') },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_NAMES) },
  { weight: 1, arbitrary: stringArb },
)

const entriesOf = (value: fc.Arbitrary<V>, max = 3) =>
  fc.uniqueArray(fc.tuple(keyArb, value), { maxLength: max, selector: e => e[0] })

/** Numbers a JSON round trip can lose: huge, tiny, -0, non-finite, beyond 2^53. */
const edgeNumber = fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, 5e-324, -0, NaN, Infinity, -Infinity, 2 ** 53 + 2, 0.1)

/** Plain JSON values (what must always store and read back equal), nested a little. */
export const plainValueArb: fc.Arbitrary<V> = fc.letrec<{ v: V }>(tie => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 10 }).map((s): V => ['str', s]),
    fc.integer({ min: -1000, max: 1000 }).map((n): V => ['num', n]),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter(n => !Object.is(n, -0)).map((n): V => ['num', n]),
    fc.boolean().map((b): V => ['bool', b]),
    fc.constant<V>(['null']),
    fc.array(tie('v'), { maxLength: 3 }).map((a): V => ['arr', a]),
    fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'id', 'path'), tie('v')), { maxLength: 3, selector: e => e[0] }).map((e): V => ['obj', e]),
  ),
})).v

/** Hostile leaves and containers, each a value the issue names. */
export const hostileValueArb: fc.Arbitrary<V> = fc.letrec<{ v: V }>(tie => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    stringArb.map((s): V => ['str', s]),
    edgeNumber.map((n): V => ['num', n]),
    fc.double().map((n): V => ['num', n]),
    fc.constantFrom('0', '-42', '9007199254740993', (2n ** 70n + 1n).toString(), (10n ** 400n).toString()).map((s): V => ['big', s]),
    fc.constantFrom(0, 1_705_309_200_123, -1, 8.64e15, NaN).map((ms): V => ['date', ms]),
    fc.tuple(fc.constantFrom('Error', 'TypeError', 'RangeError', 'SyntaxError', 'CustomError'), stringArb,
      fc.option(entriesOf(tie('v'), 2), { nil: undefined }), fc.option(tie('v'), { nil: undefined }))
      .map(([n, m, data, cause]): V => (data || cause ? ['err', n, m, data, cause] : ['err', n, m])),
    entriesOf(tie('v'), 2).map((e): V => ['map', e]),
    fc.array(tie('v'), { maxLength: 2 }).map((a): V => ['set', a]),
    fc.constantFrom('https://example.com/a?b=1#c', 'http://[::1]:8080/', 'file:///etc/passwd').map((u): V => ['url', u]),
    fc.constantFrom('s', '').map((d): V => ['sym', d]),
    fc.constant<V>(['fn']),
    fc.constant<V>(['undef']),
    fc.array(tie('v'), { maxLength: 3 }).map((a): V => ['arr', a]),
    fc.tuple(fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.nat(4), tie('v')), { maxLength: 2 })).map(([n, e]): V => ['sparse', n, e]),
    entriesOf(tie('v')).map((e): V => ['obj', e]),
    entriesOf(tie('v'), 2).map((e): V => ['nullproto', e]),
    fc.tuple(stringArb, entriesOf(tie('v'), 1)).map(([m, e]): V => ['getter', m, e]),
    fc.tuple(fc.constantFrom(10, 63, 64, 65, 100, 3000), fc.boolean()).map(([d, arrays]): V => ['deep', d, arrays, ['num', 1]]),
    fc.tuple(fc.constantFrom(1_000, 70_000), fc.constantFrom('a', 'é', '😀', '\uD800')).map(([n, ch]): V => ['long', n, ch]),
    fc.constant<V>(['cycle']),
    fc.constantFrom('a+', '^$').map((re): V => ['regexp', re]),
    fc.constantFrom(0, 3).map((n): V => ['bytes', n]),
    fc.constantFrom<string | number | boolean>('s', 1, false).map((b): V => ['boxed', b]),
    entriesOf(tie('v'), 2).map((e): V => ['inst', e]),
  ),
})).v

/** Mostly plain, sometimes hostile: where a real TraceItem carries user data. */
const dataArb = (hostileWeight: number) => fc.oneof(
  { weight: 20, arbitrary: plainValueArb },
  { weight: hostileWeight, arbitrary: hostileValueArb },
)

const s = (a: fc.Arbitrary<string>) => a.map((x): V => ['str', x])
/** `a`, or a hostile value in w of 40 cases. */
const orHostile = (a: fc.Arbitrary<V>, w: number) => (w ? fc.oneof({ weight: 40, arbitrary: a }, { weight: w, arbitrary: hostileValueArb }) : a)

/** The runtime's `event` for a fetch, scheduled or queue invocation (see test/fixtures/trace-items.json). */
const eventArb = (w: number): fc.Arbitrary<V> => fc.oneof(
  { weight: 5, arbitrary: fc.record({
    url: orHostile(s(fc.constantFrom('https://example.com/', 'https://example.com/users?i=1', 'http://localhost/throw')), w),
    method: orHostile(s(fc.constantFrom('GET', 'POST')), w),
    colo: orHostile(s(fc.constantFrom('LHR', 'DFW', 'SJC')), w),
    status: fc.option(orHostile(fc.constantFrom(200, 404, 503).map((n): V => ['num', n]), w), { nil: undefined }),
    extra: fc.option(fc.tuple(w ? keyArb : fc.constantFrom('a', 'id', 'path'), dataArb(w)), { nil: undefined }),
  }).map(({ url, method, colo, status, extra }): V => ['obj', [
    ['request', ['obj', [['url', url], ['method', method], ['headers', ['obj', [['user-agent', ['str', 'undici']]]]],
      ['cf', ['obj', [['colo', colo], ['country', ['str', 'US']], ['asn', ['num', 13335]]]]]]]],
    ...(status ? [['response', ['obj', [['status', status]]]] as [string, V]] : []),
    ...(extra && !['request', 'response'].includes(extra[0]) ? [extra] : []),
  ]]) },
  { weight: 1, arbitrary: fc.constant<V>(['obj', [['cron', ['str', '*/5 * * * *']], ['scheduledTime', ['num', 1_705_309_200_000]]]]) },
  { weight: 1, arbitrary: fc.constant<V>(['obj', [['queue', ['str', 'jobs']], ['batchSize', ['num', 3]]]]) },
  { weight: 1, arbitrary: fc.constant<V>(['null']) },
  { weight: w ? 1 : 0, arbitrary: hostileValueArb },
)

const logArb = (w: number): fc.Arbitrary<V> => fc.record({
  level: s(fc.constantFrom('log', 'info', 'warn', 'error', 'debug')),
  message: fc.array(dataArb(w * 2), { maxLength: 3 }),
  timestamp: orHostile(fc.constant<V>(['num', 1_705_309_200_000]), w),
}).map(({ level, message, timestamp }): V => ['obj', [['level', level], ['message', ['arr', message]], ['timestamp', timestamp]]])

const exceptionArb = (w: number): fc.Arbitrary<V> => fc.oneof(
  { weight: 3, arbitrary: fc.record({ name: s(fc.constantFrom('TypeError', 'Error')), message: orHostile(s(w ? stringArb : fc.string()), w) })
    .map(({ name, message }): V => ['obj', [['name', name], ['message', message], ['timestamp', ['num', 1_705_309_200_000]],
      ['stack', ['str', '    at fetch (worker.js:1:1)']]]]) },
  // What a caller passing caught errors straight through would send.
  { weight: w ? 2 : 0, arbitrary: fc.tuple(fc.constantFrom('Error', 'TypeError', 'CustomError'), stringArb).map(([n, m]): V => ['err', n, m]) },
  { weight: w ? 1 : 0, arbitrary: hostileValueArb },
)

const intField = (w: number) => orHostile(fc.oneof(fc.nat(500).map((n): V => ['num', n]), fc.constant<V>(['null'])), w)
const optString = (w: number, values: string[]) => orHostile(fc.oneof(s(fc.constantFrom(...values)), fc.constant<V>(['null'])), w)

/**
 * One TailEvents input as `traceItemToTailEvent` makes it, with hostile values inside its variant
 * data at a rate set by `hostile` (0: none, only plain JSON data; 1: sometimes; 3: often) and in
 * its typed fields (strings, ints, the timestamp, unknown fields) by `typed` (default: `hostile`),
 * out of 40.
 */
export const eventRecipeArb = (opts: { hostile: number; typed?: number; hours: number }): fc.Arbitrary<EventRecipe> => {
  const w = opts.hostile
  const t = opts.typed ?? w
  return fc.record({
    hour: fc.nat(Math.max(0, opts.hours - 1)),
    ts: t ? fc.oneof({ weight: 40, arbitrary: fc.constantFrom<TsRecipe>(['date'], ['ms'], ['iso']) },
      { weight: t, arbitrary: fc.constantFrom<V>(['date', NaN], ['str', 'not a date'], ['num', -1], ['num', NaN], ['num', 8.64e15], ['null'], ['big', '1'])
        .map((v): TsRecipe => ['bad', v]) })
      : fc.constantFrom<TsRecipe>(['date'], ['ms'], ['iso']),
    scriptName: orHostile(s(fc.oneof(fc.constantFrom('api-worker', 'auth-worker'), t ? stringArb : fc.string({ maxLength: 12 }))), t),
    outcome: orHostile(s(fc.constantFrom('ok', 'exception', 'exceededCpu')), t),
    event: eventArb(w),
    logs: orHostile(fc.array(logArb(w), { maxLength: 3 }).map((a): V => ['arr', a]), w),
    exceptions: orHostile(fc.array(exceptionArb(w), { maxLength: 2 }).map((a): V => ['arr', a]), w),
    diagnosticsChannelEvents: fc.array(dataArb(w), { maxLength: 1 }).map((a): V => ['arr', a]),
    cpuTime: intField(t),
    wallTime: intField(t),
    truncated: orHostile(fc.constantFrom<V>(['bool', false], ['bool', true], ['null']), t),
    executionModel: optString(t, ['stateless', 'durableObject']),
    entrypoint: optString(t, ['default', 'MyEntrypoint']),
    scriptVersion: orHostile(fc.constantFrom<V>(['null'], ['obj', [['id', ['str', 'v1']], ['tag', ['str', 't']]]]), w),
    dispatchNamespace: optString(t, ['ns']),
    scriptTags: orHostile(fc.array(s(fc.constantFrom('a', 'b', 'é')), { maxLength: 2 }).map((a): V => ['arr', a]), t),
    surprise: fc.oneof({ weight: 40, arbitrary: fc.constant(undefined) },
      { weight: t, arbitrary: fc.tuple(fc.constantFrom('surprise', ...PROTO_NAMES), dataArb(1)) }),
  }).map(({ hour, ts, surprise, ...fields }) => ({
    hour,
    ts,
    fields: [...Object.entries(fields), ...(surprise ? [surprise] : [])] as [string, V][],
  }))
}

// ---------------------------------------------------------------- rows and filters for "one answer"

const word = (...xs: string[]) => fc.constantFrom(...xs).map((x): V => ['str', x])
const protoEntries = fc.uniqueArray(fc.tuple(fc.constantFrom(...PROTO_NAMES), fc.oneof(word('a', 'b'), fc.constant<V>(['num', 1]))),
  { maxLength: 2, selector: e => e[0] })

/** A string on which backtracking regular expressions like (a+)+$ take minutes. */
export const EVIL_INPUT = `${'a'.repeat(40)}!`

/**
 * Events over a small vocabulary so random filters hit: promoted paths that run through arrays
 * or hold the wrong type, and own keys named like Object.prototype members.
 */
export const filterEventRecipeArb = (hours: number): fc.Arbitrary<EventRecipe> => {
  const url = fc.oneof(word('u1', 'u2', EVIL_INPUT), fc.constant<V>(['num', 1]), fc.constant<V>(['arr', [['str', 'u1']]]))
  const status = fc.oneof(fc.constantFrom(200, 503, 200.5).map((n): V => ['num', n]), word('200'), fc.constant<V>(['null']))
  const request = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(url, word('GET', 'POST'), word('LHR', 'DFW'), protoEntries)
      .map(([u, m, c, p]): V => ['obj', [['url', u], ['method', m], ['cf', ['obj', [['colo', c]]]], ...p]]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(word('u1', 'u2'), word('GET', 'POST')), { minLength: 1, maxLength: 2 })
      .map((xs): V => ['arr', xs.map(([u, m]): V => ['obj', [['url', u], ['method', m]]])]) },
  )
  const event = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(request, fc.option(status, { nil: undefined }), protoEntries)
      .map(([r, st, p]): V => ['obj', [['request', r], ...(st ? [['response', ['obj', [['status', st]]]] as [string, V]] : []), ...p]]) },
    { weight: 1, arbitrary: protoEntries.map((p): V => ['obj', p]) },
    { weight: 1, arbitrary: fc.constant<V>(['null']) },
  )
  const exception = fc.tuple(word('TypeError', 'Error'), word('boom', 'u1')).map(([n, m]): V => ['obj', [['name', n], ['message', m]]])
  return fc.record({
    hour: fc.nat(Math.max(0, hours - 1)),
    scriptName: word('api', 'a', 'b'),
    outcome: word('ok', 'exception'),
    event,
    exceptions: fc.array(exception, { maxLength: 2 }).map((a): V => ['arr', a]),
    logs: fc.array(word('error', 'log').map((l): V => ['obj', [['level', l]]]), { maxLength: 2 }).map((a): V => ['arr', a]),
    cpuTime: fc.oneof(fc.constantFrom(1, 2, 200).map((n): V => ['num', n]), fc.constant<V>(['null'])),
    scriptTags: fc.array(word('a', 'b'), { maxLength: 2 }).map((a): V => ['arr', a]),
  }).map(({ hour, ...fields }) => ({ hour, ts: ['date'] as TsRecipe, fields: Object.entries(fields) as [string, V][] }))
}

/** Paths a filter may name: promoted columns, paths through arrays, and Object.prototype members. */
export const FILTER_PATHS = [
  'scriptName', 'outcome', 'cpuTime', 'scriptTags', 'event', 'event.request', 'event.request.url', 'event.request.method',
  'event.request.cf.colo', 'event.response.status', 'event.request.0.url', 'event.request.url.0', 'exceptions.0.name',
  'exceptions.name', 'exceptions.0.message', 'logs.level', 'logs.0.level', 'logs.length', 'event.request.constructor',
  'exceptions.constructor', 'exceptions.0.toString', 'event.constructor.name', 'event.__proto__.a',
  ...PROTO_NAMES.map(n => `event.${n}`), 'constructor', 'toString',
]

const ANY_OPERAND: unknown[] = ['u1', 'u2', 'GET', 'POST', 'LHR', 'DFW', 'a', 'b', 'api', 'ok', 'exception',
  'TypeError', 'boom', 'error', 1, 2, 200, 503, 200.5, '200', null, true]

/** Values the rows hold at a path, so most conditions can match some rows and not others. */
function operandsFor(path: string): unknown[] {
  const last = path.split('.').filter(p => !/^\d+$/.test(p)).pop()!
  const byLast: Record<string, unknown[]> = {
    scriptName: ['api', 'a', 'b'], outcome: ['ok', 'exception'], cpuTime: [1, 2, 200], scriptTags: ['a', 'b'],
    url: ['u1', 'u2', 1], method: ['GET', 'POST'], colo: ['LHR', 'DFW'], status: [200, 503, 200.5, '200'],
    name: ['TypeError', 'Error', 'a'], message: ['boom', 'u1'], level: ['error', 'log'],
  }
  if (Object.hasOwn(byLast, last)) return byLast[last]!
  return (PROTO_NAMES as readonly string[]).includes(last) ? ['a', 'b', 1] : ANY_OPERAND
}

/** Patterns for $regex: plain ones, catastrophic backtrackers, lookaround and backreferences, and broken syntax. */
const REGEXES = ['^u', 'u\\d$', '^(a+)+$', '(a|a)*b', '(a*)*!$', '(?=u)u', '(u)\\1', '[', '']

const condition = (path: string): fc.Arbitrary<unknown> => {
  const operand = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...operandsFor(path)) }, { weight: 1, arbitrary: fc.constantFrom(...ANY_OPERAND) })
  return fc.oneof(
    { weight: 3, arbitrary: operand },
    { weight: 1, arbitrary: operand.map(v => ({ $eq: v })) },
    { weight: 1, arbitrary: operand.map(v => ({ $ne: v })) },
    { weight: 2, arbitrary: fc.array(operand, { minLength: 1, maxLength: 3 }).map(vs => ({ $in: vs })) },
    { weight: 1, arbitrary: fc.array(operand, { minLength: 1, maxLength: 3 }).map(vs => ({ $nin: vs })) },
    { weight: 3, arbitrary: fc.boolean().map(b => ({ $exists: b })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), operand).map(([op, v]) => ({ [op]: v })) },
    { weight: 1, arbitrary: fc.constantFrom(...REGEXES).map(re => ({ $regex: re })) },
  )
}

const leafFilter = fc.constantFrom(...FILTER_PATHS).chain(p => condition(p).map(c => ({ [p]: c }) as Record<string, unknown>))

/** A find() filter: one condition, two on one object, or an $and / $or of two. */
export const filterArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 4, arbitrary: leafFilter },
  { weight: 1, arbitrary: fc.tuple(leafFilter, leafFilter).map(([a, b]) => ({ ...a, ...b })) },
  { weight: 1, arbitrary: fc.tuple(leafFilter, leafFilter).map(([a, b]) => ({ $and: [a, b] })) },
  { weight: 1, arbitrary: fc.tuple(leafFilter, leafFilter).map(([a, b]) => ({ $or: [a, b] })) },
)

/** Columns SQL can filter on: plain ones and the promoted paths (whose statistics prune files). */
const SQL_COLUMNS = ['scriptName', 'outcome', 'cpuTime', '"event.request.url"', '"event.request.method"', '"event.response.status"',
  '"event.request.cf.colo"', '"exceptions.0.name"']

/** A SQL WHERE condition on one column, its value bound: [column, operator, value]. */
export const sqlConditionArb: fc.Arbitrary<[string, string, unknown]> = fc.constantFrom(...SQL_COLUMNS).chain(col => {
  const operand = fc.constantFrom(...operandsFor(col.replaceAll('"', '')).filter(v => v !== null && typeof v !== 'boolean'))
  return fc.tuple(fc.constant(col), fc.constantFrom('=', '!=', '<', '>=', 'IN'), operand)
})
