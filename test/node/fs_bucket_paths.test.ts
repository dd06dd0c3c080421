import { access, mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { loadManifest } from '../../src/manifest/index.js'
import { FsBucket } from '../../src/storage/fs_bucket.js'
import { MemoryBucket, StorageError, manifestKey } from '../../src/storage/index.js'
import { TailEvents } from '../../src/tail/index.js'
import { makeEvents } from '../helpers/events.js'

const HEAD = JSON.stringify({ key: 'x', size: 6, etag: 'e', uploaded: new Date(0).toISOString() })

/**
 * A temp folder holding the bucket's base (`base/`) and a sibling `outside/` with an object
 * and its head laid out exactly as the adapter would read them, so an escape would succeed.
 */
async function setup(): Promise<{ tmp: string; base: string; bucket: FsBucket; outsideIntact: () => Promise<void> }> {
  const tmp = await mkdtemp(join(tmpdir(), 'parquedb-fs-paths-'))
  const base = join(tmp, 'base')
  await mkdir(join(tmp, 'outside'), { recursive: true })
  await writeFile(join(tmp, 'outside', 'x'), 'secret')
  await writeFile(join(tmp, 'outside', 'x.json'), HEAD)
  const bucket = new FsBucket(base)
  await bucket.put('inside/a', 'inside')
  const outsideIntact = async () => {
    expect(await readFile(join(tmp, 'outside', 'x'), 'utf8')).toBe('secret')
    expect(await readFile(join(tmp, 'outside', 'x.json'), 'utf8')).toBe(HEAD)
    expect((await readdir(join(tmp, 'outside'))).sort()).toEqual(['x', 'x.json'])
  }
  return { tmp, base, bucket, outsideIntact }
}

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err)
  expect(e).toBeInstanceOf(StorageError)
  expect((e as Error).message).toMatch(pattern)
}

// Each key would land outside base/objects or base/heads if joined as it is.
const ESCAPES: [string, RegExp][] = [
  ['../../outside/x', /"\.\." segment/],
  ['a/../../../outside/x', /"\.\." segment/],
  ['./../../outside/x', /"\." segment/],
  ['/etc/passwd', /empty segment/],
  ['a//b', /empty segment/],
  ['a/', /empty segment/],
  ['..\\..\\outside\\x', /backslash/],
  ['a\0b', /control character/],
]

describe('the fs adapter stays inside its folder', () => {
  let s: Awaited<ReturnType<typeof setup>>
  beforeEach(async () => { s = await setup() })

  for (const [key, why] of ESCAPES) {
    it(`refuses ${JSON.stringify(key)} for get, head, put, delete and list before touching anything`, async () => {
      await refused(s.bucket.get(key), why)
      await refused(s.bucket.head(key), why)
      await refused(s.bucket.put(key, 'evil'), why)
      await refused(s.bucket.delete(key), why)
      await s.outsideIntact()
      expect(await (await s.bucket.get('inside/a'))!.text()).toBe('inside')
    })
  }

  it('names the key, the rule and what keys may hold', async () => {
    const e = await s.bucket.head('../../outside/x').catch((err: Error) => err)
    expect((e as Error).message).toBe(
      'fs bucket: object key "../../outside/x" has a ".." segment; keys here are /-separated names, '
      + 'none empty, "." or "..", without backslashes or control characters',
    )
  })

  it('a delete of many keys with one bad key deletes none of them', async () => {
    await s.bucket.put('inside/b', 'b')
    await refused(s.bucket.delete(['inside/a', '../../outside/x', 'inside/b']), /"\.\." segment/)
    await s.outsideIntact()
    expect((await s.bucket.list({ prefix: 'inside/' })).objects.map(o => o.key)).toEqual(['inside/a', 'inside/b'])
  })

  it('list refuses a prefix whose folders escape, and does not walk outside', async () => {
    await refused(s.bucket.list({ prefix: '../../outside/' }), /"\.\." segment/)
    await refused(s.bucket.list({ prefix: '../' }), /"\.\." segment/)
    await refused(s.bucket.list({ prefix: '/etc/' }), /empty segment/)
    await refused(s.bucket.list({ prefix: 'a\\b' }), /backslash/)
    // A partial last segment is only a filter on names, so dots there are fine.
    await s.bucket.put('..x/1', 'dots')
    expect((await s.bucket.list({ prefix: '..' })).objects.map(o => o.key)).toEqual(['..x/1'])
    expect((await s.bucket.list({ prefix: 'inside/' })).objects.map(o => o.key)).toEqual(['inside/a'])
    await s.outsideIntact()
  })

  it('keys that merely contain dots are ordinary keys', async () => {
    for (const key of ['a..b', '.hidden/x', 'v1.2/..x', 'dt=2024-01-15/hour=09/f.parquet']) {
      await s.bucket.put(key, key)
      expect(await (await s.bucket.get(key))!.text()).toBe(key)
    }
  })

  it('a symlink inside the folder that points outside is not followed', async () => {
    await mkdir(join(s.base, 'objects'), { recursive: true })
    await mkdir(join(s.base, 'heads'), { recursive: true })
    await symlink(join(s.tmp, 'outside'), join(s.base, 'objects', 'evil'))
    await symlink(join(s.tmp, 'outside'), join(s.base, 'heads', 'evil'))
    await refused(s.bucket.head('evil/x'), /symbolic link|outside/)
    await refused(s.bucket.get('evil/x'), /symbolic link|outside/)
    await refused(s.bucket.put('evil/y', 'evil'), /symbolic link|outside/)
    await refused(s.bucket.delete('evil/x'), /symbolic link|outside/)
    await refused(s.bucket.list({ prefix: 'evil/' }), /symbolic link|outside/)
    // A listing from the top does not descend into the link either.
    expect((await s.bucket.list()).objects.map(o => o.key)).toEqual(['inside/a'])
    await s.outsideIntact()
  })

  it('a symlinked file inside the folder is not read through', async () => {
    await mkdir(join(s.base, 'heads', 'link'), { recursive: true })
    await mkdir(join(s.base, 'objects', 'link'), { recursive: true })
    await symlink(join(s.tmp, 'outside', 'x.json'), join(s.base, 'heads', 'link', 'x.json'))
    await symlink(join(s.tmp, 'outside', 'x'), join(s.base, 'objects', 'link', 'x'))
    await refused(s.bucket.head('link/x'), /symbolic link|outside/)
    await refused(s.bucket.get('link/x'), /symbolic link|outside/)
    // Overwriting replaces the link itself (rename), never the file it points at.
    await s.bucket.put('link/x', 'mine')
    expect(await (await s.bucket.get('link/x'))!.text()).toBe('mine')
    await s.bucket.delete('link/x')
    expect(await s.bucket.head('link/x')).toBeNull()
    await s.outsideIntact()
  })

  it('a base folder that is itself a symlink works as usual', async () => {
    const real = join(s.tmp, 'real')
    await mkdir(real)
    await symlink(real, join(s.tmp, 'alias'))
    const b = new FsBucket(join(s.tmp, 'alias'))
    await b.put('k/1', 'one')
    expect(await (await b.get('k/1'))!.text()).toBe('one')
    expect((await b.list({ prefix: 'k/' })).objects.map(o => o.key)).toEqual(['k/1'])
    await b.delete('k/1')
    expect(await b.head('k/1')).toBeNull()
    await access(join(real, 'objects'))
  })

  it('a garbage key with ../ in the manifest never deletes an outside file on a pass', async () => {
    const T0 = Date.parse('2024-01-15T09:00:00Z')
    const now = T0 + 3 * 86_400_000
    const db = DB({ TailEvents }, { storage: { type: 'fs', path: s.base }, now: () => now })
    await db.TailEvents.bulkCreate(makeEvents(20, { start: T0, spanMs: 3_600_000 }))
    await db.compact()
    const { manifest } = await loadManifest(s.bucket, '', now)
    manifest.garbage.push({ key: '../../outside/x', since: 0 }, { key: 'a/../../../outside/x', since: 0 })
    await s.bucket.put(manifestKey(''), JSON.stringify(manifest))
    // The pass neither deletes them nor fails: they are dropped from the manifest, untouched.
    for (let i = 0; i < 3; i++) await db.compact()
    await s.outsideIntact()
    expect((await loadManifest(s.bucket, '', now)).manifest.garbage.map(g => g.key)).not.toContain('../../outside/x')
    expect(await db.TailEvents.find()).toHaveLength(20)
  })

  it('garbage collection never deletes another prefix\'s object in a shared bucket', async () => {
    const T0 = Date.parse('2024-01-15T09:00:00Z')
    const now = T0 + 3 * 86_400_000
    const shared = new MemoryBucket()
    const a = DB({ TailEvents }, { storage: shared, prefix: 'tenant-a', now: () => now })
    const b = DB({ TailEvents }, { storage: shared, prefix: 'tenant-b', now: () => now })
    await b.TailEvents.bulkCreate(makeEvents(5, { start: T0, spanMs: 3_600_000 }))
    await b.compact()
    const theirs = (await loadManifest(shared, 'tenant-b/', now)).manifest.collections.TailEvents!.files[0]!.key
    await a.TailEvents.bulkCreate(makeEvents(5, { start: T0, spanMs: 3_600_000 }))
    await a.compact()
    const { manifest } = await loadManifest(shared, 'tenant-a/', now)
    manifest.garbage.push({ key: theirs, since: 0 })
    await shared.put(manifestKey('tenant-a/'), JSON.stringify(manifest))
    await a.compact()
    expect(await shared.head(theirs)).not.toBeNull()
    expect(await b.TailEvents.find()).toHaveLength(5)
  })
})
