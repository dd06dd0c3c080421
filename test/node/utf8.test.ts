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
})
