import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, posix, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The rules the code's layout keeps (docs/internals.md, "The layers"), checked on the source
 * itself so a change that breaks one fails here rather than in a reviewer's memory.
 */

const SRC = join(import.meta.dirname, '../../src')

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

const files = sources().map(p => ({ path: relative(SRC, p).split('\\').join('/'), text: readFileSync(p, 'utf8') }))
const folderOf = (path: string) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : null)

/** Which folders each folder may import: the one-way graph of docs/internals.md. */
const ALLOWED: Record<string, string[]> = {
  storage: [],
  schema: [],
  tail: [],
  expr: ['schema'],
  wal: ['storage'],
  manifest: ['storage'],
  mv: ['expr', 'schema'],
  query: ['expr', 'manifest', 'mv', 'schema', 'storage', 'wal'],
  compactor: ['expr', 'manifest', 'mv', 'query', 'schema', 'storage', 'wal'],
  cli: [],
  dashboard: [],
  db: ['compactor', 'dashboard', 'expr', 'ingest', 'manifest', 'mv', 'query', 'schema', 'storage', 'tail', 'wal'],
  iceberg: ['compactor', 'manifest', 'mv', 'schema', 'storage'],
  ingest: ['storage', 'wal'],
}

const INVARIANTS = [
  'durable-on-ack', 'read-your-writes', 'exactly-once', 'crash-safe',
  'single-winner', 'safe-gc', 'bounded-work', 'nothing-dropped',
]

function imports(text: string): string[] {
  return [...text.matchAll(/from '(\.[^']+)'/g)].map(m => m[1]!)
}

describe('code hygiene', () => {
  it('a folder imports another only through its index.ts, and only along the one-way graph', () => {
    const problems: string[] = []
    for (const f of files) {
      const own = folderOf(f.path)
      for (const spec of imports(f.text)) {
        // Resolved against the importing file, so a subfolder (query/columnar) counts as its folder.
        const target = posix.normalize(posix.join(posix.dirname(f.path), spec))
        const folder = folderOf(target)
        if (!folder || folder === own) continue
        if (target !== `${folder}/index.js`) problems.push(`${f.path} imports ${spec}: go through ${folder}/index.ts`)
        if (own && !ALLOWED[own]?.includes(folder)) problems.push(`${f.path} imports ${folder}, which ${own} may not`)
      }
    }
    expect(problems).toEqual([])
  })

  it('every line under src is at most 120 characters', () => {
    const long = files.flatMap(f => f.text.split('\n').flatMap((line, i) => (line.length > 120 ? [`${f.path}:${i + 1}`] : [])))
    expect(long).toEqual([])
  })

  it('object keys are spelled only in storage/layout.ts', () => {
    const spelled = /['`/}](wal|data|quarantine)\/|_manifest\.json|_last_pass\.json|padStart\(15/
    const outside = files.filter(f => f.path !== 'storage/layout.ts')
      .flatMap(f => f.text.split('\n').flatMap((line, i) =>
        (spelled.test(line) && !/^\s*(\*|\/\/)/.test(line) && !line.includes(" from '")
          ? [`${f.path}:${i + 1}: ${line.trim()}`] : [])))
    expect(outside).toEqual([])
  })

  it('each invariant is documented in docs/internals.md and cited by name where the code keeps it', () => {
    const doc = readFileSync(join(SRC, '../docs/internals.md'), 'utf8')
    const all = files.map(f => f.text).join('\n')
    for (const name of INVARIANTS) {
      expect(doc, `docs/internals.md documents ${name}`).toContain(`### ${name}`)
      expect(all, `src cites invariant ${name}`).toMatch(new RegExp(`invariants? ([a-z-]+, )*${name}`))
    }
    // No numbered invariants ("invariant 4") left from before they had names.
    expect(all).not.toMatch(/invariants? \d/)
  })
})
