import { type LoadedManifest, heldBySnapshot, referencedKeys } from '../manifest/index.js'
import { createdAtOfKey, dataPrefix, isOwnKey, mapLimit, tableMetadataPrefix } from '../storage/index.js'
import type { StepOutcome } from './commit_step.js'
import { deleteKeys } from './concurrency.js'
import type { PassContext } from './pass_context.js'

export interface GcResult {
  deleted: number
  orphans: number
}

/**
 * Deletes what the manifest no longer needs once the grace period has passed:
 * replaced files, consumed WAL segments, and orphans (outputs of passes that died
 * before committing, once orphanAfterMs old). Objects are deleted first and dropped from the manifest after,
 * so a crash in between only repeats a harmless delete (safe-gc).
 */
export async function collectGarbage(ctx: PassContext, loaded: LoadedManifest): Promise<StepOutcome<GcResult> | null> {
  const now = ctx.now()
  const grace = ctx.options.graceMs
  const m = loaded.manifest
  // A file a retained Iceberg snapshot still lists stays until that snapshot expires (safe-gc). The
  // tables' own metadata (retired JSON, expired snapshots' Avro) is listed by no snapshot: the grace
  // period alone covers its readers, else an idle table would hold it forever.
  const tableMetadata = Object.keys(m.tables ?? {}).map(t => tableMetadataPrefix(ctx.prefix, t))
  const held = (g: (typeof m.garbage)[number]) =>
    !tableMetadata.some(p => g.key.startsWith(p)) && heldBySnapshot(m, g, t => dataPrefix(ctx.prefix, t))
  const dueGarbage = m.garbage.filter(g => g.since + grace <= now && !held(g)).map(g => g.key)
  const dueSegments = Object.values(m.collections)
    .flatMap(c => c.consumed.filter(s => !s.quarantined && s.at + grace <= now).map(s => s.key))

  const orphans: string[] = []
  const sweepCursors: Record<string, string> = {}
  const referenced = referencedKeys(m)
  const names = [...ctx.collections.map(c => c.name), ...ctx.views.map(v => v.name)]
  // One listing page per collection or view per pass keeps the sweep's cost flat; the pages are
  // listed together.
  const pages = await mapLimit(names, ctx.options.concurrency, name => {
    const after = m.sweep?.[name]
    return ctx.bucket.list({ prefix: dataPrefix(ctx.prefix, name), ...(after ? { startAfter: after } : {}) })
  })
  for (const [i, name] of names.entries()) {
    const page = pages[i]!
    for (const obj of page.objects) {
      const created = createdAtOfKey(obj.key)
      const old = created !== null && created + ctx.options.orphanAfterMs <= now
      if (old && !referenced.has(obj.key)) orphans.push(obj.key)
    }
    sweepCursors[name] = page.truncated ? page.objects.at(-1)?.key ?? '' : ''
  }

  const listed = [...dueGarbage, ...dueSegments, ...orphans]
  // A key this store could not have written (another prefix, a `..` segment) came from a corrupt
  // or hand-edited manifest: it is dropped from the manifest, never deleted, so garbage collection
  // cannot reach another tenant's objects in a shared bucket (invariant safe-gc).
  const due = listed.filter(k => isOwnKey(ctx.prefix, k))
  const foreign = listed.filter(k => !isOwnKey(ctx.prefix, k))
  if (foreign.length) {
    console.warn(`parquedb: garbage collection left ${foreign.length} key(s) outside this store untouched ` +
      `and dropped them from the manifest: ${foreign.slice(0, 3).map(k => JSON.stringify(k)).join(', ')}`)
  }
  const cursorsMoved = names.some(n => (m.sweep?.[n] ?? '') !== sweepCursors[n])
  if (!listed.length && !cursorsMoved) return null
  // Batches of up to 1,000 keys (R2's limit per delete), several in flight; all are settled before
  // the edit commits, and a crash in between only repeats harmless deletes.
  await deleteKeys(ctx.bucket, due, ctx.options.concurrency)

  const result = { deleted: due.length, orphans: orphans.length }
  return { edit: { deleted: listed, sweep: sweepCursors }, written: [], result }
}

