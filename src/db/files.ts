import { type DataFile, loadManifest } from '../manifest/index.js'
import type { Bucket } from '../storage/index.js'

/** A Parquet file a reader should read: in the current manifest, not a hidden view delta. */
export type LiveFile = Pick<DataFile, 'key' | 'partition' | 'level' | 'rows' | 'bytes' | 'minTime' | 'maxTime'>

/**
 * The live files of a collection or view, from the manifest. Listing the bucket instead also finds
 * files already replaced but kept for the garbage-collection grace period (invariant safe-gc), and
 * outputs of passes that died: reading those counts rows twice.
 */
export async function liveFiles(
  bucket: Bucket, prefix: string, name: string, now: number,
): Promise<{ collection: string; manifestVersion: number; files: LiveFile[] }> {
  const { manifest } = await loadManifest(bucket, prefix, now)
  const files = (manifest.collections[name]?.files ?? [])
    .filter(f => !f.pending)
    .map(({ key, partition, level, rows, bytes, minTime, maxTime }) =>
      ({ key, partition, level, rows, bytes, minTime, maxTime }))
    .sort((a, b) => a.minTime - b.minTime || (a.key < b.key ? -1 : 1))
  return { collection: name, manifestVersion: manifest.version, files }
}

/** `name` if the schema has a collection or view of that name; a RangeError listing them otherwise. */
export function knownName(name: string, collections: object): string {
  if (Object.hasOwn(collections, name)) return name
  throw new RangeError(`no collection or view named ${JSON.stringify(name)}; `
    + `the schema has ${Object.keys(collections).join(', ')}`)
}
