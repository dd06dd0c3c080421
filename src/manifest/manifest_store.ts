import { type Bucket, lastPassKey, manifestKey } from '../storage/index.js'
import { type Manifest, type PassSummary, emptyManifest } from './manifest.js'
import { UnknownManifestFormat, decodeManifest, encodeManifest } from './manifest_codec.js'

export class ManifestError extends Error {
  override name = 'ManifestError'
}

export interface LoadedManifest {
  manifest: Manifest
  /** null when no manifest exists yet: the first commit is create-if-absent. */
  etag: string | null
}

/**
 * The last pass's summary sits beside the manifest rather than in it (lastPassKey): it is
 * observability, not state, so it needs no CAS, and a pass need not rewrite the whole manifest
 * just to record it.
 */
export async function writeLastPass(bucket: Bucket, prefix: string, pass: PassSummary): Promise<void> {
  await bucket.put(lastPassKey(prefix), JSON.stringify(pass))
}

/** The last pass's summary; an unreadable one is reported as none rather than fail status(). */
export async function readLastPass(bucket: Bucket, prefix: string): Promise<PassSummary | null> {
  const body = await bucket.get(lastPassKey(prefix))
  if (!body) return null
  try {
    return JSON.parse(await body.text()) as PassSummary
  } catch {
    return null
  }
}

export async function loadManifest(bucket: Bucket, prefix: string, now: number): Promise<LoadedManifest> {
  const body = await bucket.get(manifestKey(prefix))
  if (!body) return { manifest: emptyManifest(now), etag: null }
  const text = await body.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw new ManifestError(`${manifestKey(prefix)} is not valid JSON (${(e as Error).message}); ` +
      'restore it from R2 object versioning or a backup')
  }
  let manifest: Manifest
  try {
    manifest = decodeManifest(parsed)
  } catch (e) {
    const name = manifestKey(prefix)
    if (e instanceof UnknownManifestFormat) throw new ManifestError(`${name} has ${e.message}: upgrade parquedb`)
    throw new ManifestError(`${name} is not a valid format-2 manifest (${(e as Error).message}); ` +
      'restore it from R2 object versioning or a backup')
  }
  manifest.garbage ??= []
  manifest.recompact ??= []
  return { manifest, etag: body.etag }
}

/**
 * Commits `next` only if the stored manifest is still the one read (etag match,
 * or absent for the first commit). Returns the new etag, or null when another
 * writer won the race: the caller discards its work and starts over.
 */
export async function commitManifest(
  bucket: Bucket, prefix: string, loaded: LoadedManifest, next: Manifest,
): Promise<string | null> {
  next.version = loaded.manifest.version + 1
  // Written in the compact format (manifest_codec.ts); the model in memory stays the same.
  const stored = await bucket.put(manifestKey(prefix), JSON.stringify(encodeManifest(next)), {
    onlyIf: loaded.etag === null ? { etagDoesNotMatch: '*' } : { etagMatches: loaded.etag },
  })
  return stored ? stored.etag : null
}
