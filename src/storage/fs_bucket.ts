import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { type BucketObject, StorageError } from './bucket.js'
import { ObjectStore, type StoredObject } from './object_store.js'

/**
 * A bucket in a local folder (Node only): object bytes under `objects/`, each head
 * (etag, upload time, metadata) beside it under `heads/`. Writes go through a
 * temporary file and a rename so a crash never leaves half an object. Conditional
 * puts are atomic within one process, which is how the CLI and tests use it.
 */
export class FsBucket extends ObjectStore {
  constructor(readonly root: string) {
    super()
  }

  private objectPath(key: string): string {
    if (key.split('/').some(part => part === '..' || part === '.')) throw new StorageError(`object key ${JSON.stringify(key)} may not contain . or .. segments`)
    return join(this.root, 'objects', ...key.split('/'))
  }
  private headPath(key: string): string {
    return join(this.root, 'heads', ...key.split('/')) + '.json'
  }

  protected async readObject(key: string): Promise<StoredObject | null> {
    const head = await this.readHead(key)
    if (!head) return null
    try {
      return { head, bytes: new Uint8Array(await readFile(this.objectPath(key))) }
    } catch (e) {
      if (isMissing(e)) return null
      throw e
    }
  }

  protected async readHead(key: string): Promise<BucketObject | null> {
    try {
      const raw = JSON.parse(await readFile(this.headPath(key), 'utf8')) as BucketObject & { uploaded: string }
      return { ...raw, uploaded: new Date(raw.uploaded) }
    } catch (e) {
      if (isMissing(e)) return null
      throw e
    }
  }

  protected async writeObject(key: string, object: StoredObject): Promise<void> {
    // Bytes first, head last: an object without a head does not exist to readers.
    await atomicWrite(this.objectPath(key), object.bytes)
    await atomicWrite(this.headPath(key), new TextEncoder().encode(JSON.stringify(object.head)))
  }

  protected async removeObject(key: string): Promise<void> {
    await rm(this.headPath(key), { force: true })
    await rm(this.objectPath(key), { force: true })
  }

  protected async keys(prefix: string): Promise<string[]> {
    const base = join(this.root, 'heads')
    // Walk only the deepest folder the prefix names.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    const start = folder ? join(base, ...folder.split('/')) : base
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
        if (entry.isDirectory()) await walk(full)
        else if (entry.name.endsWith('.json') && !entry.name.includes('.tmp-')) {
          const key = relative(base, full).split(sep).join('/').slice(0, -'.json'.length)
          if (key.startsWith(prefix)) out.push(key)
        }
      }
    }
    await walk(start)
    return out
  }
}

async function atomicWrite(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  await writeFile(tmp, bytes)
  await rename(tmp, path)
}

function isMissing(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT'
}
