import { describe, expect, it } from 'vitest'
import {
  type DataFile, type Manifest, type PublishedTable, ManifestEditError, StaleEditError, applyEdit, emptyManifest,
  heldBySnapshot, referencedKeys,
} from '../../src/manifest/index.js'

const T = Date.parse('2024-01-15T09:00:00Z')
const P9 = 'dt=2024-01-15/hour=09'
const P10 = 'dt=2024-01-15/hour=10'

function file(key: string, partition = P9, extra: Partial<DataFile> = {}): DataFile {
  return { key, partition, level: 0, rows: 10, bytes: 100, minTime: T, maxTime: T, createdAt: T, stats: {}, ...extra }
}

function manifest(): Manifest {
  const m = emptyManifest(T)
  m.version = 7
  m.collections.E = { files: [file('a'), file('b'), file('c', P10)], consumed: [{ key: 'wal/1', at: T }] }
  m.garbage = [{ key: 'old', since: T - 1 }]
  return m
}

describe('applyEdit', () => {
  it('sends removed files to garbage stamped with the commit time, moves the version, leaves its input alone', () => {
    const m = manifest()
    const before = structuredClone(m)
    const edit = { collections: { E: { removed: ['a', 'b'], added: [file('ab', P9, { level: 1 })] } } }
    const next = applyEdit(m, edit, T + 5)
    expect(m).toEqual(before)
    expect(next.collections.E!.files.map(f => f.key)).toEqual(['c', 'ab'])
    expect(next.garbage).toEqual([
      { key: 'old', since: T - 1 }, { key: 'a', since: T + 5, version: 8 }, { key: 'b', since: T + 5, version: 8 },
    ])
    expect(next).toMatchObject({ version: 8, updatedAt: T + 5 })
  })

  it('refuses to remove or publish a file the manifest does not hold: the edit was built on another version', () => {
    expect(() => applyEdit(manifest(), { collections: { E: { removed: ['gone'] } } }, T)).toThrow(StaleEditError)
    expect(() => applyEdit(manifest(), { collections: { E: { removed: ['a', 'a'] } } }, T))
      .toThrow(/removes a, which manifest version 7/)
    expect(() => applyEdit(manifest(), { collections: { F: { removed: ['a'] } } }, T)).toThrow(StaleEditError)
    expect(() => applyEdit(manifest(), { collections: { E: { published: ['x'] } } }, T)).toThrow(StaleEditError)
  })

  it('never references a key twice: a live file, a consumed segment or garbage cannot be added again', () => {
    for (const key of ['a', 'wal/1', 'old']) {
      const add = { collections: { E: { added: [file(key)] } } }
      expect(() => applyEdit(manifest(), add, T), key).toThrow(ManifestEditError)
      const consume = { collections: { E: { consumed: [{ key }] } } }
      expect(() => applyEdit(manifest(), consume, T), key).toThrow(/already referenced/)
    }
    const twice = { collections: { V: { added: [file('n'), file('n')] } } }
    expect(() => applyEdit(manifest(), twice, T)).toThrow(ManifestEditError)
  })

  it('stamps consumed segments with the commit time and keeps a quarantine reason', () => {
    const consumed = [{ key: 'wal/2' }, { key: 'wal/3', quarantined: 'too big' }]
    const next = applyEdit(manifest(), { collections: { E: { consumed } } }, T + 9)
    expect(next.collections.E!.consumed).toEqual([
      { key: 'wal/1', at: T }, { key: 'wal/2', at: T + 9 }, { key: 'wal/3', at: T + 9, quarantined: 'too big' },
    ])
  })

  it('publishes pending files, and moves the expiry mark only forward', () => {
    const m = manifest()
    m.collections.E!.files[0]!.pending = true
    let next = applyEdit(m, { collections: { E: { published: ['a'], expiredBefore: T } } }, T)
    expect(next.collections.E!.files[0]).not.toHaveProperty('pending')
    expect(next.collections.E!.expiredBefore).toBe(T)
    next = applyEdit(next, { collections: { E: { expiredBefore: T - 100 } } }, T)
    expect(next.collections.E!.expiredBefore).toBe(T)
  })

  it('queue: partitions merge in sorted, finished ones leave, an empty entry is dropped', () => {
    let m = applyEdit(manifest(), { queue: [{ collection: 'E', added: [P10, P9] }] }, T + 1)
    expect(m.recompact).toEqual([{ collection: 'E', partitions: [P9, P10], requestedAt: T + 1 }])
    m = applyEdit(m, { queue: [{ collection: 'E', added: [P9], written: ['ab'] }] }, T + 2)
    expect(m.recompact).toEqual([{ collection: 'E', partitions: [P9, P10], requestedAt: T + 1, written: ['ab'] }])
    // Finishing the first partition ends what was written for it.
    m = applyEdit(m, { queue: [{ collection: 'E', done: [P9] }] }, T + 3)
    expect(m.recompact).toEqual([{ collection: 'E', partitions: [P10], requestedAt: T + 1 }])
    m = applyEdit(m, { queue: [{ collection: 'E', done: [P10] }] }, T + 4)
    expect(m.recompact).toEqual([])
    // Finishing what is not queued is harmless (retention drops partitions whether or not they are).
    expect(applyEdit(m, { queue: [{ collection: 'E', done: [P9] }] }, T).recompact).toEqual([])
    expect(() => applyEdit(m, { queue: [{ collection: 'E', written: ['x'] }] }, T)).toThrow(StaleEditError)
  })

  it('queue: replace starts an entry over, keeping redefine when asked', () => {
    let m = applyEdit(manifest(), { queue: [{ collection: 'V', added: [P9, P10] }] }, T)
    m = applyEdit(m, { queue: [{ collection: 'V', added: [P10], replace: true, redefine: true }] }, T + 1)
    expect(m.recompact).toEqual([{ collection: 'V', partitions: [P10], requestedAt: T + 1, redefine: true }])
  })

  it('dropping a collection sends its files to garbage and forgets its queue; quarantined segments refuse it', () => {
    const view = { collections: { V: { added: [file('v1'), file('v2')] } }, queue: [{ collection: 'V', added: [P9] }] }
    let m = applyEdit(manifest(), view, T)
    m = applyEdit(m, { collections: { V: { drop: true } }, views: { V: null } }, T + 7)
    expect(m.collections.V).toBeUndefined()
    expect(m.recompact).toEqual([])
    expect(m.garbage.slice(-2)).toEqual([{ key: 'v1', since: T + 7, version: 9 }, { key: 'v2', since: T + 7, version: 9 }])
    const q = manifest()
    q.collections.E!.consumed.push({ key: 'wal/big', at: T, quarantined: 'too big' })
    expect(() => applyEdit(q, { collections: { E: { drop: true } } }, T)).toThrow(/quarantined segment/)
  })

  it('deleted keys leave garbage and consumed lists; view states and sweep cursors are replaced whole', () => {
    const m = applyEdit(manifest(), {
      deleted: ['old', 'wal/1', 'data/orphan'],
      sweep: { E: 'data/E/x' },
      views: { V: { lastRefresh: T, definition: 'd' } },
    }, T)
    expect(m.garbage).toEqual([])
    expect(m.collections.E!.consumed).toEqual([])
    expect(m.sweep).toEqual({ E: 'data/E/x' })
    expect(m.views).toEqual({ V: { lastRefresh: T, definition: 'd' } })
    expect(applyEdit(m, { views: { V: null } }, T).views).toEqual({})
  })

  it('published tables are replaced whole, their snapshots\' objects stay referenced, and garbage they list is held',
    () => {
      const table = (versions: number[]): PublishedTable => ({
        uuid: 'u', version: 1, updatedAt: T, lastSequence: 1, lastColumnId: 1, fieldIds: {}, schemas: [],
        currentSchemaId: 0, nameMapping: '[]', partitionField: 't_hour', partitionSourceId: 1, fingerprint: '',
        metadataLog: [],
        snapshots: versions.map(v => ({
          id: v, sequence: v, at: T, version: v, schemaId: 0, manifestList: `meta/list-${v}`, manifests: [`meta/m-${v}`],
          summary: {},
        })),
      })
      let m = applyEdit(manifest(), { tables: { E: table([7]) } }, T)
      expect(referencedKeys(m).has('meta/list-7')).toBe(true)
      // A merge in version 9 replaces a and b: the snapshot built from version 7 still lists them.
      m = applyEdit(m, { collections: { E: { removed: ['a', 'b'] } } }, T)
      const a = m.garbage.find(g => g.key === 'a')!
      expect(a.version).toBe(9)
      const prefix = (t: string) => (t === 'E' ? '' : 'elsewhere/')
      expect(heldBySnapshot(m, a, prefix)).toBe(true)
      // Once only a snapshot built from version 9 or later is retained, nothing holds them.
      m = applyEdit(m, { tables: { E: table([9]) }, garbage: ['meta/list-7', 'meta/m-7'] }, T + 1)
      expect(heldBySnapshot(m, a, prefix)).toBe(false)
      expect(m.garbage.slice(-2)).toEqual([
        { key: 'meta/list-7', since: T + 1, version: 10 }, { key: 'meta/m-7', since: T + 1, version: 10 },
      ])
      // A garbage entry of another table is never held by this one's snapshots.
      expect(heldBySnapshot(m, { key: 'x', since: 0, version: 1 }, t => (t === 'E' ? 'data/E/' : ''))).toBe(false)
      expect(applyEdit(m, { tables: { E: null } }, T).tables).toEqual({})
    })
})
