import type { BucketObject } from './bucket.js'
import { ObjectStore, type StoredObject } from './object_store.js'

/** An in-process bucket: tests, and `storage: { type: 'memory' }`. */
export class MemoryBucket extends ObjectStore {
  private objects = new Map<string, StoredObject>()

  protected async readObject(key: string): Promise<StoredObject | null> {
    return this.objects.get(key) ?? null
  }
  protected async readHead(key: string): Promise<BucketObject | null> {
    return this.objects.get(key)?.head ?? null
  }
  protected async writeObject(key: string, object: StoredObject): Promise<void> {
    this.objects.set(key, object)
  }
  protected async removeObject(key: string): Promise<void> {
    this.objects.delete(key)
  }
  protected async keys(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter(k => k.startsWith(prefix))
  }
}
