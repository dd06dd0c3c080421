import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { utf8Length } from '../../src/storage/index.js'

describe('utf8Length', () => {
  it('is the size TextEncoder gives, lone surrogates included', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a\uD800', '\uDC00b', '\uD800\uD800', '\uD83D\uDE00\uD83D']) {
      expect(utf8Length(s), JSON.stringify(s)).toBe(new TextEncoder().encode(s).byteLength)
    }
    // Any UTF-16 code units, well-formed or not.
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }).map(a => String.fromCharCode(...a))
    fc.assert(fc.property(units, s => utf8Length(s) === new TextEncoder().encode(s).byteLength), { seed: 8, numRuns: 2000 })
  })

  it('is exact on both sides of the scratch-buffer size, where it stops encoding and counts', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 12 })
      .map(a => String.fromCharCode(...a))
    // Lengths around 16,384 units: encoded into the reused buffer below, counted by the loop above.
    const long = fc.tuple(units, fc.integer({ min: 16_370, max: 16_400 }))
      .map(([u, n]) => u.repeat(Math.ceil(n / u.length)).slice(0, n))
    const exact = (s: string) => utf8Length(s) === new TextEncoder().encode(s).byteLength
    fc.assert(fc.property(long, exact), { seed: 9, numRuns: 300 })
    expect(utf8Length('\u20AC'.repeat(40_000))).toBe(120_000)
  })
})
