import { type FileHandle, mkdir, open, readFile, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { type BucketObject, type BucketRange, StorageError, resolveRange } from './bucket.js'
import { ObjectStore, type StoredObject } from './object_store.js'

/**
 * A read follows the file itself; a write or delete only its folder (rename and rm replace a link,
 * never follow it).
 */
type Use = 'read' | 'write'

const KEY_RULE = 'keys here are /-separated names, none empty, "." or "..", without backslashes or control characters'

/**
 * A bucket in a local folder (Node only): object bytes under `objects/`, each head
 * (etag, upload time, metadata) beside it under `heads/`. Writes go through a
 * temporary file and a rename so a crash never leaves half an object. Conditional
 * puts are atomic within one process, which is how the CLI and tests use it.
 *
 * Keys become paths, so every path (bytes and head alike) is checked to lie inside
 * the folder before it is touched: keys that would climb out or alias another key are
 * refused, and so are symbolic links that lead outside. R2 stores such keys as opaque
 * strings; here they are a StorageError, and nothing is read, written or deleted.
 */
export class FsBucket extends ObjectStore {
  readonly root: string
  private realRoot: string | undefined

  constructor(root: string) {
    super()
    this.root = resolve(root)
  }

  protected async readObject(key: string): Promise<StoredObject | null> {
    const bytesPath = await this.path('objects', key, '', 'read')
    const head = await this.readHead(key)
    if (!head) return null
    try {
      return { head, bytes: new Uint8Array(await readFile(bytesPath)) }
    } catch (e) {
      if (isMissing(e)) return null
      throw e
    }
  }

  protected override async readRange(key: string, range: BucketRange | undefined): Promise<StoredObject | null> {
    if (!range) return this.readObject(key)
    const bytesPath = await this.path('objects', key, '', 'read')
    const head = await this.readHead(key)
    if (!head) return null
    const [start, end] = resolveRange(range, head.size)
    let file: FileHandle
    try {
      file = await open(bytesPath, 'r')
    } catch (e) {
      if (isMissing(e)) return null
      throw e
    }
    try {
      const bytes = new Uint8Array(end - start)
      let done = 0
      while (done < bytes.length) {
        const { bytesRead } = await file.read(bytes, done, bytes.length - done, start + done)
        if (bytesRead === 0) break
        done += bytesRead
      }
      return { head, bytes: done === bytes.length ? bytes : bytes.slice(0, done) }
    } finally {
      await file.close()
    }
  }

  protected async readHead(key: string): Promise<BucketObject | null> {
    const headPath = await this.path('heads', key, '.json', 'read')
    try {
      const raw = JSON.parse(await readFile(headPath, 'utf8')) as BucketObject & { uploaded: string }
      return { ...raw, uploaded: new Date(raw.uploaded) }
    } catch (e) {
      if (isMissing(e)) return null
      throw e
    }
  }

  protected async writeObject(key: string, object: StoredObject): Promise<void> {
    const [bytesPath, headPath] = await this.paths(key, 'write')
    // Bytes first, head last: an object without a head does not exist to readers.
    await atomicWrite(bytesPath, object.bytes)
    await atomicWrite(headPath, new TextEncoder().encode(JSON.stringify(object.head)))
  }

  /** Every key is checked before any is removed, so a bad key in a batch deletes nothing. */
  override async delete(keys: string | string[]): Promise<void> {
    for (const key of Array.isArray(keys) ? keys : [keys]) await this.paths(key, 'write')
    await super.delete(keys)
  }

  protected async removeObject(key: string): Promise<void> {
    const [bytesPath, headPath] = await this.paths(key, 'write')
    await rm(headPath, { force: true })
    await rm(bytesPath, { force: true })
  }

  protected async keys(prefix: string): Promise<string[]> {
    // Walk only the deepest folder the prefix names; its folders are checked like a key's.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    const lastPart = prefix.slice(folder.length)
    const shown = `list prefix ${JSON.stringify(prefix)}`
    if (/[\\\x00-\x1f\x7f]/.test(lastPart)) fail(shown, keyProblem(lastPart)!)
    const base = join(this.root, 'heads')
    const start = folder ? await this.path('heads', folder, '', 'read', shown) : base
    const out: string[] = []
    const walk = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (e) {
        if (isMissing(e)) return
        throw e
      }
      for (const entry of entries) {
        const full = join(dir, entry.name)
        // Links are neither: the walk never leaves the folder through one.
        if (entry.isDirectory()) await walk(full)
        else if (entry.isFile() && entry.name.endsWith('.json') && !entry.name.includes('.tmp-')) {
          const key = relative(base, full).split(sep).join('/').slice(0, -'.json'.length)
          // A file put here by hand whose name no key can have is not an object of this bucket.
          if (key.startsWith(prefix) && keyProblem(key) === null) out.push(key)
        }
      }
    }
    await walk(start)
    return out
  }

  private async paths(key: string, use: Use): Promise<[bytes: string, head: string]> {
    return [await this.path('objects', key, '', use), await this.path('heads', key, '.json', use)]
  }

  /**
   * The file `key` (+ `suffix`) maps to under `area`, refused unless both it and its real
   * location (links resolved) lie inside the folder. `shown` is what the error names.
   */
  private async path(
    area: 'objects' | 'heads', key: string, suffix: string, use: Use, shown = `object key ${JSON.stringify(key)}`,
  ): Promise<string> {
    const problem = keyProblem(key)
    if (problem) fail(shown, problem)
    const top = join(this.root, area)
    const path = join(top, ...key.split('/')) + suffix
    if (!isInside(top, path)) fail(shown, `leads outside ${top}`)
    const real = await realLocation(use === 'read' ? path : dirname(path))
    const realRoot = (this.realRoot ??= await realLocation(this.root))
    if (!isInside(realRoot, real)) {
      throw new StorageError(`fs bucket: ${shown} resolves through a symbolic link to ${real}, `
        + `outside the bucket folder ${realRoot}; remove the link`)
    }
    return path
  }
}

/** Why `key` cannot name a file inside the folder, or null when it can. */
function keyProblem(key: string): string | null {
  if (/[\x00-\x1f\x7f]/.test(key)) return 'has a control character'
  if (key.includes('\\')) return 'has a backslash'
  for (const part of key.split('/')) {
    if (part === '') return 'has an empty segment'
    if (part === '.' || part === '..') return `has a "${part}" segment`
  }
  return null
}

function fail(shown: string, problem: string): never {
  throw new StorageError(`fs bucket: ${shown} ${problem}; ${KEY_RULE}`)
}

function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/** Where `path` really is: its deepest existing ancestor with links resolved, plus the part not created yet. */
async function realLocation(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch (e) {
    const parent = dirname(path)
    if (!isMissing(e) || parent === path) throw e
    return join(await realLocation(parent), basename(path))
  }
}

async function atomicWrite(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  await writeFile(tmp, bytes)
  await rename(tmp, path)
}

function isMissing(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined
  return code === 'ENOENT' || code === 'ENOTDIR'
}
