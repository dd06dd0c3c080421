import { describe, expect, it } from 'vitest'
import { ExprError, MAX_REGEX_LENGTH, compileRegExpObject, compileRegex } from '../../src/expr/index.js'

const refusal = (f: () => unknown): ExprError => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError)
    return e as ExprError
  }
  throw new Error('expected an ExprError')
}

describe('compileRegex: RE2, linear time', () => {
  it('matches anywhere in the string, like RegExp.test', () => {
    const r = compileRegex('/users\\b')
    expect(r.test('https://x.dev/users/1')).toBe(true)
    expect(r.test('https://x.dev/usersx')).toBe(false)
    expect(compileRegex('^a.c$').test('abc')).toBe(true)
    expect(compileRegex('^a.c$').test('xabc')).toBe(false)
  })

  it('takes milliseconds on patterns that make a backtracking engine take minutes', () => {
    const r = compileRegex('(a+)+$')
    for (const n of [28, 40, 10_000]) {
      const s = 'a'.repeat(n) + '!'
      const t0 = performance.now()
      expect(r.test(s)).toBe(false)
      expect(performance.now() - t0).toBeLessThan(200)
    }
    const nested = compileRegex('^(\\w+\\s?)*$')
    const t0 = performance.now()
    expect(nested.test('word '.repeat(2000) + '!')).toBe(false)
    expect(performance.now() - t0).toBeLessThan(500)
  })

  it('maps MongoDB options i, m, s, x and refuses unknown ones', () => {
    expect(compileRegex('boom', 'i').test('BOOM')).toBe(true)
    expect(compileRegex('boom').test('BOOM')).toBe(false)
    expect(compileRegex('^b', 'm').test('a\nb')).toBe(true)
    expect(compileRegex('^b').test('a\nb')).toBe(false)
    expect(compileRegex('a.b', 's').test('a\nb')).toBe(true)
    expect(compileRegex('a.b').test('a\nb')).toBe(false)
    // x: whitespace and # comments are ignored, except escaped or inside a class.
    const x = compileRegex('a b  # the rest\n c [ ]d \\ e', 'x')
    expect(x.test('abc d e')).toBe(true)
    expect(x.test('a b c d e')).toBe(false)
    const e = refusal(() => compileRegex('a', 'iq'))
    expect(e.message).toContain('"q"')
    expect(e.message).toContain('i m s x u')
  })

  it('refuses backreferences and lookaround at compile time, naming the pattern and the feature', () => {
    const cases: [string, string][] = [
      ['(a)\\1', 'backreferences'],
      ['(?<n>a)\\k<n>', 'backreferences'],
      ['foo(?=bar)', 'lookahead'],
      ['foo(?!bar)', 'lookahead'],
      ['(?<=foo)bar', 'lookbehind'],
      ['(?<!foo)bar', 'lookbehind'],
    ]
    for (const [p, what] of cases) {
      const e = refusal(() => compileRegex(p))
      expect(e.message).toContain(JSON.stringify(p))
      expect(e.message).toContain(what)
    }
    const bad = refusal(() => compileRegex('[a-'))
    expect(bad.message).toContain('"[a-"')
    expect(bad.message).toContain('RE2 syntax')
  })

  it('bounds the pattern: length and repeat counts', () => {
    expect(refusal(() => compileRegex('a'.repeat(MAX_REGEX_LENGTH + 1))).message).toContain(String(MAX_REGEX_LENGTH))
    expect(refusal(() => compileRegex('((a{100}){100}){100}')).message).toContain('repeat count')
  })

  it('accepts JavaScript unicode escapes', () => {
    expect(compileRegex('\\u0041\\u{1F600}').test('A😀')).toBe(true)
    expect(compileRegex('\\\\u0041').test('\\u0041')).toBe(true)
  })

  it('runs RegExp objects on the same engine, stateless whatever their flags', () => {
    const r = compileRegExpObject(/BOOM [0-2]$/gi)
    expect(r.test('a boom 1')).toBe(true)
    expect(r.test('a boom 1')).toBe(true) // no lastIndex carried over
    const slow = compileRegExpObject(/(a+)+$/)
    const t0 = performance.now()
    expect(slow.test('a'.repeat(40) + '!')).toBe(false)
    expect(performance.now() - t0).toBeLessThan(200)
    expect(refusal(() => compileRegExpObject(/(a)\1/)).message).toContain('backreferences')
  })
})
