import { expect, it } from 'vitest'
import type { Bucket } from '../../src/storage/index.js'

/**
 * What the engine relies on from a bucket, run against every adapter and against
 * R2 itself (Miniflare's and workerd's), so the adapters cannot drift from R2.
 */
export function bucketContract(name: string, open: () => Promise<Bucket>): void {
  const text = async (b: Bucket, key: string, range?: Parameters<Bucket['get']>[1]) => (await (await b.get(key, range))!.text())

  it(`${name}: create-if-absent put succeeds once, then returns null and keeps the first value`, async () => {
    const b = await open()
    const first = await b.put('c/a', 'one', { onlyIf: { etagDoesNotMatch: '*' } })
    expect(first?.etag).toMatch(/^[0-9a-f]{32}$/)
    expect(await b.put('c/a', 'two', { onlyIf: { etagDoesNotMatch: '*' } })).toBeNull()
    expect(await text(b, 'c/a')).toBe('one')
  })

  it(`${name}: compare-and-swap on etag: a stale etag loses`, async () => {
    const b = await open()
    const v1 = (await b.put('m', 'v1'))!
    const v2 = await b.put('m', 'v2', { onlyIf: { etagMatches: v1.etag } })
    expect(v2).not.toBeNull()
    expect(await b.put('m', 'v3', { onlyIf: { etagMatches: v1.etag } })).toBeNull()
    expect(await text(b, 'm')).toBe('v2')
    expect((await b.get('m'))!.etag).toBe(v2!.etag)
    expect(await b.put('absent', 'x', { onlyIf: { etagMatches: v2!.etag } })).toBeNull()
  })

  it(`${name}: ranged gets`, async () => {
    const b = await open()
    await b.put('r', '0123456789')
    expect(await text(b, 'r', { range: { offset: 2, length: 3 } })).toBe('234')
    expect(await text(b, 'r', { range: { offset: 7 } })).toBe('789')
    expect(await text(b, 'r', { range: { suffix: 3 } })).toBe('789')
    expect(await text(b, 'r', { range: { offset: 8, length: 10 } })).toBe('89')
    const head = await b.head('r')
    expect(head?.size).toBe(10)
    expect(await b.get('nope')).toBeNull()
    expect(await b.head('nope')).toBeNull()
  })

  it(`${name}: list pages with cursors, and folds delimited prefixes`, async () => {
    const b = await open()
    const keys = ['l/a/1', 'l/a/2', 'l/b/1', 'l/c', 'l/d', 'm/x']
    for (const k of keys) await b.put(k, k)
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await b.list({ prefix: 'l/', limit: 2, ...(cursor ? { cursor } : {}) })
      seen.push(...page.objects.map(o => o.key))
      cursor = page.truncated ? page.cursor : undefined
      pages++
    } while (cursor)
    expect(seen).toEqual(['l/a/1', 'l/a/2', 'l/b/1', 'l/c', 'l/d'])
    expect(pages).toBe(3)
    const folded = await b.list({ prefix: 'l/', delimiter: '/' })
    expect(folded.objects.map(o => o.key)).toEqual(['l/c', 'l/d'])
    expect(folded.delimitedPrefixes.sort()).toEqual(['l/a/', 'l/b/'])
    const after = await b.list({ prefix: 'l/', startAfter: 'l/b/1' })
    expect(after.objects.map(o => o.key)).toEqual(['l/c', 'l/d'])
  })

  it(`${name}: delete takes one key or many, and missing keys are fine`, async () => {
    const b = await open()
    await b.put('d/1', '1')
    await b.put('d/2', '2')
    await b.put('d/3', '3')
    await b.delete('d/1')
    await b.delete(['d/2', 'd/missing'])
    expect((await b.list({ prefix: 'd/' })).objects.map(o => o.key)).toEqual(['d/3'])
  })

  it(`${name}: binary bodies round-trip`, async () => {
    const b = await open()
    const bytes = new Uint8Array(256).map((_, i) => i)
    await b.put('bin', bytes)
    expect(new Uint8Array(await (await b.get('bin'))!.arrayBuffer())).toEqual(bytes)
    expect(new Uint8Array(await (await b.get('bin', { range: { offset: 250 } }))!.arrayBuffer())).toEqual(bytes.slice(250))
  })
}
