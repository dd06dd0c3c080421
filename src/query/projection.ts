import { ExprError, splitPath } from '../expr/index.js'
import { getPath } from '../schema/index.js'

export type Projection = Record<string, 0 | 1 | boolean>

/** A compiled projection: which top-level fields it needs, and how it shapes a row. */
export interface CompiledProjection {
  /** Top-level fields the output needs; null means every field. */
  roots: Set<string> | null
  apply(row: Record<string, unknown>): Record<string, unknown>
}

/**
 * MongoDB-style projection: `{ a: 1, 'b.c': 1 }` keeps only those paths (nested paths
 * keep their nesting), `{ a: 0 }` drops fields. Mixing the two is an error.
 */
export function compileProjection(project: Projection | undefined): CompiledProjection {
  if (!project || Object.keys(project).length === 0) return { roots: null, apply: row => row }
  const entries = Object.entries(project).map(([k, v]) => [splitPath(k), v === 1 || v === true] as const)
  const include = entries.filter(([, v]) => v)
  if (include.length && include.length !== entries.length) {
    throw new ExprError('a projection either includes fields (1) or excludes them (0), not both: ' +
      `${JSON.stringify(project)}`)
  }
  if (include.length) {
    return {
      roots: new Set(include.map(([p]) => p[0]!)),
      apply(row) {
        const out: Record<string, unknown> = {}
        for (const [parts] of include) {
          const v = getPath(row, parts)
          if (v !== undefined) setPath(out, parts, v)
        }
        return out
      },
    }
  }
  return {
    roots: null,
    apply(row) {
      const out: Record<string, unknown> = { ...row }
      for (const [parts] of entries) deletePath(out, parts)
      return out
    },
  }
}

/**
 * Sets a path on own properties only, defining each level: a row may hold its own `__proto__`
 * key (JSON.parse makes one), and an assignment through it would change Object.prototype.
 */
function setPath(target: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let cur = target
  for (const p of parts.slice(0, -1)) {
    const next = Object.hasOwn(cur, p) ? cur[p] : undefined
    if (next === null || typeof next !== 'object' || Array.isArray(next)) define(cur, p, {})
    cur = cur[p] as Record<string, unknown>
  }
  define(cur, parts.at(-1)!, value)
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty leaves an object slow (dictionary mode) for every later access: only the one key
  // an assignment would misroute takes it.
  if (key !== '__proto__') target[key] = value
  else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Removes a path, copying each object on the way so the source row is untouched. */
function deletePath(target: Record<string, unknown>, parts: readonly string[]): void {
  const key = parts[0]!
  if (!Object.hasOwn(target, key)) return
  if (parts.length === 1) { delete target[key]; return }
  const child = target[key]
  if (child === null || typeof child !== 'object' || Array.isArray(child)) return
  const copy = { ...(child as Record<string, unknown>) }
  define(target, key, copy)
  deletePath(copy, parts.slice(1))
}
