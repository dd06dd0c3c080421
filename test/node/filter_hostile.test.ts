import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { DB, ExprError } from '../../src/index.js'
import { compareSame, compileFilter, deepEqual, extractBounds, mayMatch, timeRange } from '../../src/expr/index.js'
import { FILTER_LIMITS } from '../../src/expr/index.js'
import { compileCollection, getPath, normalizeRow, toPublicRow } from '../../src/schema/index.js'
import { TailEvents, type TailEvent } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'
import { canonical } from '../helpers/rows.js'

const HOUR = 3_600_000
const T0 = Date.parse('2024-01-15T00:00:00Z')
const schema = compileCollection('TailEvents', TailEvents)
type Ev = TailEvent & Record<string, unknown>

/** The stored form of an event, or null where the engine refuses it (as it may a `__proto__` key). */
const publicForm = (e: unknown) => {
  const n = normalizeRow(schema, e)
  return n.ok ? (toPublicRow(schema, n.row) as Ev) : null
}

/** Names every plain object inherits: a filter must see them only where a row holds them. */
const INHERITED = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']

/** Events, a few of which really carry those names as keys (JSON.parse makes `__proto__` an own key). */
function ownKeyEvents() {
  const events = makeEvents(300, { start: T0, spanMs: 6 * HOUR, seed: 5 })
  events.forEach((e, i) => {
    if (i % 10 !== 0 || e.event === null || typeof e.event !== 'object') return
    const key = INHERITED[(i / 10) % INHERITED.length]!
    // Through JSON text: assigning `__proto__` would set the prototype instead of adding a key.
    const entry = `${JSON.stringify(key)}:${JSON.stringify({ name: `own-${i}`, n: i })},`
    e.event = JSON.parse(JSON.stringify(e.event).replace(/^\{/, `{${entry}`)) as never
  })
  return events
}

const ev = (e: Ev) => (e.event ?? {}) as Record<string, unknown>
const own = (e: Ev, k: string) => Object.hasOwn(ev(e), k) && ev(e)[k] !== null && ev(e)[k] !== undefined

/** Filters on inherited names beside the own-property answer. */
const OWN_CASES: [string, Record<string, unknown>, (e: Ev) => boolean][] = INHERITED.flatMap(k => [
  [`${k} $exists`, { [`event.${k}`]: { $exists: true } }, (e: Ev) => own(e, k)],
  [`${k} $exists false`, { [`event.${k}`]: { $exists: false } }, (e: Ev) => !own(e, k)],
  [`${k}.name`, { [`event.${k}.name`]: { $exists: true } }, (e: Ev) => own(e, k)],
  [`${k}.name = Object`, { [`event.${k}.name`]: 'Object' }, () => false],
  [`${k} $ne null`, { [`event.${k}`]: { $ne: null } }, (e: Ev) => own(e, k)],
  [`${k} $expr`, { $expr: { $ne: [`$event.${k}`, null] } }, (e: Ev) => own(e, k)],
  [`${k} via array fan-out`, { [`logs.${k}`]: { $exists: true } }, () => false],
  [`${k} inside an element`, { [`exceptions.0.${k}`]: { $exists: true } }, () => false],
] as [string, Record<string, unknown>, (e: Ev) => boolean][])

describe('filters read own properties only', () => {
  const events = ownKeyEvents()
  const rows = events.map(publicForm).filter((r): r is Ev => r !== null)

  // The raw events keep every name as a key (normalizing may not yet keep `__proto__`).
  const raw = events as unknown as Ev[]

  it('the test data holds each name as a real key somewhere', () => {
    for (const k of INHERITED) expect(raw.filter(r => own(r, k)).length, k).toBeGreaterThan(0)
  })

  it.each(OWN_CASES)('in memory: %s', (_name, filter, pred) => {
    const p = compileFilter(filter)
    for (const set of [rows, raw]) {
      expect(set.filter(r => p(r)).length).toBe(set.filter(pred).length)
      expect(canonical(set.filter(r => p(r)))).toEqual(canonical(set.filter(pred)))
    }
  })

  it('getPath finds inherited names only where they are own keys', () => {
    expect(getPath({ a: {} }, ['a', 'constructor'])).toBeUndefined()
    expect(getPath({ a: {} }, ['a', '__proto__'])).toBeUndefined()
    expect(getPath({ a: [] }, ['a', 'length'])).toBeUndefined()
    expect(getPath({ a: 'str' }, ['a', 'length'])).toBeUndefined()
    expect(getPath(JSON.parse('{"a":{"__proto__":7}}'), ['a', '__proto__'])).toBe(7)
    expect(getPath({ a: { constructor: 'c' } }, ['a', 'constructor'])).toBe('c')
    expect(getPath({ a: [{ x: 1 }] }, ['a', '0', 'x'])).toBe(1)
  })

  describe('through a real DB, the same answer before and after compaction', () => {
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 + 8 * HOUR })
    beforeAll(async () => {
      const res = await db.TailEvents.bulkCreate(events)
      expect(res.written).toBe(rows.length)
    })

    it('every case, from the WAL, then from Parquet', async () => {
      // The stored rows are the reference: what find() returns unfiltered is what filters run over.
      const stored = (await db.TailEvents.find({})) as Ev[]
      expect(stored.length).toBe(rows.length)
      const before = await Promise.all(OWN_CASES.map(([, f]) => db.TailEvents.find(f).items))
      await db.compact()
      expect((await db.status()).collections.TailEvents!.wal.segments).toBe(0)
      const storedAfter = (await db.TailEvents.find({})) as Ev[]
      expect(canonical(storedAfter)).toEqual(canonical(stored))
      const after = await Promise.all(OWN_CASES.map(([, f]) => db.TailEvents.find(f).items))
      OWN_CASES.forEach(([name, , pred], i) => {
        const want = canonical(stored.filter(pred))
        expect(canonical(before[i]!), `${name} (WAL)`).toEqual(want)
        expect(canonical(after[i]!), `${name} (Parquet)`).toEqual(want)
      })
      // Not vacuous: the real keys are found.
      expect(after[0]!.length).toBeGreaterThan(0)
    })
  })
})

describe('$regex on RE2', () => {
  const evil = 'a'.repeat(48) + '!'
  const events = makeEvents(200, { start: T0, spanMs: HOUR, seed: 9 })
  events.forEach((e, i) => {
    if (i % 20 === 0 && e.event && typeof e.event === 'object' && 'request' in e.event) {
      ;(e.event as { request: { url: string } }).request.url = `https://x.dev/${evil}`
    }
  })
  const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 + 3 * HOUR })
  beforeAll(async () => {
    await db.TailEvents.bulkCreate(events)
  })

  it('(a+)+$ over 48-character values takes milliseconds, as a string, a RegExp and inside $in, before and after compaction', async () => {
    const nEvil = events.filter(e => JSON.stringify(e.event).includes(evil)).length
    expect(nEvil).toBeGreaterThan(0)
    // A backtracking engine takes exponential time exactly where these do not match.
    const cases: [Record<string, unknown>, number][] = [
      [{ 'event.request.url': { $regex: '(a+)+$' } }, 0],
      [{ 'event.request.url': /(a+)+$/ }, 0],
      [{ 'event.request.url': { $regex: '^https://x\\.dev/(a|aa)+$' } }, 0],
      [{ 'event.request.url': { $regex: /(A+)+!$/, $options: 'i' } }, nEvil],
      [{ 'event.request.url': { $in: [/(a+)+!$/, 'nothing'] } }, nEvil],
      [{ 'event.request.url': { $not: /(a+)+$/ } }, events.length],
    ]
    for (const phase of ['wal', 'parquet']) {
      if (phase === 'parquet') await db.compact()
      for (const [f, want] of cases) {
        const t0 = performance.now()
        const got = await db.TailEvents.find(f)
        expect(performance.now() - t0, `${phase} ${String(Object.values(f)[0])}`).toBeLessThan(2_000)
        expect(got.length, `${phase} ${JSON.stringify(f)}`).toBe(want)
      }
    }
  })

  it('refuses unsupported patterns and options when find() is called, before reading', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ scriptName: { $regex: '(a)\\1' } }, /"\(a\)\\\\1" is not supported: backreferences/],
      [{ scriptName: { $regex: 'api(?=-worker)' } }, /lookahead/],
      [{ scriptName: /(?<=api)-worker/ }, /lookbehind/],
      [{ scriptName: { $in: ['x', /(a)\1/] } }, /backreferences/],
      [{ scriptName: { $regex: 'api', $options: 'iq' } }, /unknown regular expression flag "q"/],
      [{ scriptName: { $regex: 'api', $options: 1 } }, /\$options on scriptName takes a string/],
      [{ scriptName: { $regex: 5 } }, /\$regex on scriptName takes a string or a RegExp/],
    ]
    for (const [f, msg] of cases) {
      expect(() => db.TailEvents.find(f)).toThrow(ExprError)
      expect(() => db.TailEvents.find(f)).toThrow(msg)
    }
  })

  it('keeps MongoDB options: i, m, s, x', () => {
    const doc = { s: 'first\nSECOND line' }
    const m = (f: Record<string, unknown>) => compileFilter(f)(doc)
    expect(m({ s: { $regex: '^second', $options: 'im' } })).toBe(true)
    expect(m({ s: { $regex: '^second', $options: 'i' } })).toBe(false)
    expect(m({ s: { $regex: 'first.SECOND', $options: 's' } })).toBe(true)
    expect(m({ s: { $regex: 'first.SECOND' } })).toBe(false)
    expect(m({ s: { $regex: ' S E C O N D  # spaced out', $options: 'x' } })).toBe(true)
    expect(m({ s: /second/i })).toBe(true)
  })
})

describe('$in by set lookup', () => {
  it('10,000 rows x 100,000 values in well under a second, with the same answer as one by one', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      name: `w${i * 7}`,
      n: i,
      at: new Date(T0 + i * 1000),
      tags: [`t${i}`, i % 3 === 0 ? `w${i}` : 'none'],
    }))
    const list = Array.from({ length: 100_000 }, (_, i) => `w${i * 3 + 1}`)
    const t0 = performance.now()
    const p = compileFilter({ name: { $in: list } })
    const hits = rows.filter(r => p(r))
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(1_000)
    const set = new Set(list)
    expect(hits.length).toBe(rows.filter(r => set.has(r.name)).length)
    expect(hits.length).toBe(3_333)
    // An array field matches when any element is in the list; Dates match by instant, numbers by value.
    expect(rows.filter(compileFilter({ tags: { $in: list } })).length).toBe(rows.filter(r => r.tags.some(t => set.has(t))).length)
    const times = Array.from({ length: 100_000 }, (_, i) => T0 + i * 2000)
    expect(rows.filter(compileFilter({ at: { $in: times } })).length).toBe(5_000)
    expect(rows.filter(compileFilter({ at: { $in: times.map(t => new Date(t)) } })).length).toBe(5_000)
    expect(rows.filter(compileFilter({ n: { $nin: Array.from({ length: 100_000 }, (_, i) => i * 2) } })).length).toBe(5_000)
  })

  /** The MongoDB rule, one list entry at a time: what the set lookup must agree with. */
  function reference(value: unknown, list: unknown[], nin: boolean): boolean {
    const vals = value === undefined ? [undefined] : [value]
    const eq = (v: unknown, a: unknown) =>
      a === null ? v === null || v === undefined : deepEqual(v, a) || (Array.isArray(v) && v.some(x => deepEqual(x, a)))
    const hit = list.some(a => vals.some(v => eq(v, a)))
    return nin ? !hit : hit
  }

  it('agrees with the one-by-one rule on random mixed values (seeded)', () => {
    const scalar = fc.oneof(
      fc.constantFrom('a', 'b', '1', '', 'constructor'),
      fc.constantFrom(0, -0, 1, 1.5, NaN, Infinity),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(new Date(0), new Date(1), new Date(NaN)),
    )
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.record({ a: scalar }), fc.constant(undefined))
    fc.assert(
      fc.property(value, fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }), fc.record({ a: scalar })), { maxLength: 6 }), fc.boolean(), (v, list, nin) => {
        const doc = v === undefined ? {} : { x: v }
        expect(compileFilter({ x: { [nin ? '$nin' : '$in']: list } })(doc)).toBe(reference(v, list, nin))
      }),
      { seed: 1616, numRuns: 3_000 },
    )
  })

  it('through find(): 100,000 values on a column with statistics, before and after compaction', async () => {
    const events = makeEvents(2_000, { start: T0, spanMs: 4 * HOUR, seed: 3 })
    const db = DB({ TailEvents }, { storage: { type: 'memory' }, now: () => T0 + 6 * HOUR })
    await db.TailEvents.bulkCreate(events)
    const list = [...Array.from({ length: 99_999 }, (_, i) => `worker-${i}`), 'auth-worker']
    const want = events.filter(e => e.scriptName === 'auth-worker').length
    for (const phase of ['wal', 'parquet']) {
      if (phase === 'parquet') await db.compact()
      const t0 = performance.now()
      const got = await db.TailEvents.find({ scriptName: { $in: list } })
      expect(performance.now() - t0, phase).toBeLessThan(5_000)
      expect(got.length, phase).toBe(want)
      expect((await db.TailEvents.find({ scriptName: { $nin: list } })).length, phase).toBe(events.length - want)
    }
  })
})

describe('what a filter may cost to compile', () => {
  it(`refuses an $in list over ${FILTER_LIMITS.maxInValues} values, naming the limit`, () => {
    const big = new Array<number>(FILTER_LIMITS.maxInValues + 1).fill(1)
    expect(() => compileFilter({ n: { $in: big } })).toThrow(ExprError)
    expect(() => compileFilter({ n: { $nin: big } })).toThrow(/\$nin on n has 1000001 values, over the limit of 1000000/)
    expect(() => compileFilter({ n: { $in: big.slice(1) } })).not.toThrow()
  })

  it(`refuses nesting past ${FILTER_LIMITS.maxDepth} levels with ExprError, not a stack overflow`, () => {
    const nest = (depth: number, wrap: (f: Record<string, unknown>) => Record<string, unknown>) => {
      let f: Record<string, unknown> = { n: 1 }
      for (let i = 0; i < depth; i++) f = wrap(f)
      return f
    }
    for (const wrap of [
      (f: Record<string, unknown>) => ({ $and: [f] }),
      (f: Record<string, unknown>) => ({ $not: f }),
      (f: Record<string, unknown>) => ({ $or: [f, { m: 2 }] }),
    ]) {
      expect(() => compileFilter(nest(30, wrap))).not.toThrow()
      expect(() => compileFilter(nest(100_000, wrap))).toThrow(/nests deeper than 100 levels/)
    }
    let e: unknown = 1
    for (let i = 0; i < 100_000; i++) e = { $add: [e, 1] }
    expect(() => compileFilter({ $expr: e as Record<string, unknown> })).toThrow(ExprError)
    let v: unknown = 1
    for (let i = 0; i < 100_000; i++) v = { v }
    expect(() => compileFilter({ n: v })).toThrow(/nests deeper than 100 levels/)
    const cyclic: Record<string, unknown> = { n: 1 }
    cyclic.$and = [cyclic]
    expect(() => compileFilter(cyclic)).toThrow(ExprError)
  })
})

describe('pruning bounds stay correct and cheap with long lists', () => {
  it('two $in lists of 100,000 values intersect in milliseconds', () => {
    const a = Array.from({ length: 100_000 }, (_, i) => `k${i}`)
    const b = Array.from({ length: 100_000 }, (_, i) => `k${i + 99_990}`)
    const t0 = performance.now()
    const bounds = extractBounds({ $and: [{ s: { $in: a } }, { s: { $in: b } }] })
    expect(performance.now() - t0).toBeLessThan(500)
    expect(bounds.get('s')!.eq).toEqual(a.slice(99_990))
  })

  it('a time $in of 200,000 instants gives its range without overflowing the stack', () => {
    const times = Array.from({ length: 200_000 }, (_, i) => new Date(T0 + i * 1000))
    expect(timeRange(extractBounds({ t: { $in: times } }).get('t'))).toEqual({ from: T0, to: T0 + 199_999_000 + 1 })
    expect(timeRange(extractBounds({ t: { $in: [NaN] } }).get('t'))).toEqual({ from: 0, to: 0 })
  })

  it('mayMatch by binary search agrees with checking every value (seeded)', () => {
    const scalar = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom('a', 'b', 'bb', 'c', '😀', '\uffff'), fc.boolean(), fc.constant(NaN))
    // The rule before the index: every value against the statistics, one by one.
    const linear = (eq: unknown[], min: unknown, max: unknown) =>
      eq.some(v => {
        const lo = compareSame(v, min)
        const hi = compareSame(v, max)
        return lo === null || hi === null || (lo >= 0 && hi <= 0)
      })
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 8 }), scalar, scalar, (eq, x, y) => {
        const c = compareSame(x, y)
        if (c === null || Number.isNaN(c)) return
        const [min, max] = c <= 0 ? [x, y] : [y, x]
        expect(mayMatch({ eq: [...eq] }, min, max)).toBe(linear(eq, min, max))
      }),
      { seed: 4242, numRuns: 5_000 },
    )
  })
})
