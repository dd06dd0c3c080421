import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DB, DBConfigError } from '../../src/index.js'
import { main } from '../../src/cli.js'
import { normalizePrefix } from '../../src/db/options.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const BAD: [unknown, string][] = [
  ['../..', 'has a ".." name'],
  ['..', 'has a ".." name'],
  ['a/../b', 'has a ".." name'],
  ['./a', 'has a "." name'],
  ['a//b', 'has an empty name (//)'],
  ['a/b//', 'has an empty name (//)'],
  ['/', 'starts with /'],
  ['/tenant', 'starts with /'],
  ['tenant\\a', 'holds a backslash'],
  ['..\\..', 'holds a backslash'],
  ['a\0b', 'holds a control character'],
  ['a\nb', 'holds a control character'],
  ['a\u0085b', 'holds a control character'],
  ['x'.repeat(257), 'is 257 bytes long'],
  ['é'.repeat(129), 'is 258 bytes long'],
  [42, 'is a number, not a string'],
]

describe('store prefixes', () => {
  for (const [prefix, why] of BAD) {
    it(`refuses ${JSON.stringify(prefix).slice(0, 40)}: ${why}`, () => {
      const e = (() => { try { normalizePrefix(prefix as string) } catch (err) { return err } })()
      expect(e).toBeInstanceOf(DBConfigError)
      expect((e as Error).message).toContain(why)
      // The message says what is allowed, not only what is wrong.
      expect((e as Error).message).toContain("a prefix is one or more names separated by single /")
      expect(() => DB({ TailEvents }, { storage: { type: 'memory' }, prefix: prefix as string })).toThrow(DBConfigError)
    })
  }

  it('keeps valid prefixes working', () => {
    expect(normalizePrefix(undefined)).toBe('')
    expect(normalizePrefix('')).toBe('')
    expect(normalizePrefix('tenant-a')).toBe('tenant-a/')
    expect(normalizePrefix('a/b/')).toBe('a/b/')
    expect(normalizePrefix('team.x/tenant_a..b/v1.2')).toBe('team.x/tenant_a..b/v1.2/')
    expect(normalizePrefix('x'.repeat(256))).toBe(`${'x'.repeat(256)}/`)
  })

  it('names a long prefix by its start only', () => {
    expect(() => normalizePrefix('y'.repeat(100_000))).toThrow(/^prefix "y{80}"… is 100000 bytes long;/)
  })

  it('a store under a nested prefix writes and reads under it', async () => {
    const bucket = new MemoryBucket()
    const db = DB({ TailEvents }, { storage: bucket, prefix: 'team/tenant-a' })
    await db.TailEvents.bulkCreate(makeEvents(5, { start: Date.parse('2024-01-15T09:00:00Z'), spanMs: 60_000 }))
    const keys = (await bucket.list()).objects.map(o => o.key)
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.every(k => k.startsWith('team/tenant-a/wal/'))).toBe(true)
    expect(await db.TailEvents.find()).toHaveLength(5)
  })

  it('the CLI refuses a --prefix that climbs out of its --dir, and writes nothing outside', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'parquedb-prefix-'))
    await mkdir(join(tmp, 'store'))
    await writeFile(join(tmp, 'outside.txt'), 'keep')
    const out: string[] = []
    const run = main(['status', '--dir', join(tmp, 'store'), '--prefix', '../..'], s => out.push(s))
    await expect(run).rejects.toThrow(/prefix "\.\.\/\.\." has a "\.\." name/)
    expect((await readdir(tmp)).sort()).toEqual(['outside.txt', 'store'])
  })
})
