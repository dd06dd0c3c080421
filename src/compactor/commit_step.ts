import { type LoadedManifest, type ManifestEdit, applyEdit, commitManifest, loadManifest } from '../manifest/index.js'
import { deleteKeys } from './concurrency.js'
import type { PassContext } from './pass_context.js'

export class CompactionConflictError extends Error {
  override name = 'CompactionConflictError'
}

/** Thrown by a step that finds the manifest it read already overtaken; the step is rebuilt. */
export class StaleManifest extends Error {
  override name = 'StaleManifest'
}

/**
 * What a step built against one manifest: the edit to commit and the objects it wrote for it. Steps
 * never touch the manifest; applyEdit turns the edit into the next version.
 */
export interface StepOutcome<T> {
  edit: ManifestEdit
  written: string[]
  result: T
}

/**
 * Runs a step against the current manifest, applies its edit and commits the result with CAS.
 * When another compactor committed first, the step's outputs are deleted (nothing references them,
 * and waiting for the orphan sweep would leave them for hours) and the step is rebuilt on the new
 * manifest (invariants single-winner, safe-gc). A step's files become visible only with its commit,
 * so a pass that dies anywhere leaves nothing half-done (invariant crash-safe). `build` returns null
 * when there is nothing to do.
 */
/**
 * The step is rebuilt on a manifest read again: what was listed or read ahead for it came before
 * that read, so it goes too (the step lists after loading, as a sequential pass does: exactly-once).
 */
function forget(ctx: PassContext): void {
  ctx.loaded = undefined
  ctx.ingestAhead?.drop()
}

export async function commitStep<T>(
  ctx: PassContext,
  build: (loaded: LoadedManifest) => Promise<StepOutcome<T> | null>,
  onRetry: () => void,
): Promise<T | null> {
  for (let attempt = 0; attempt < ctx.options.maxCasRetries; attempt++) {
    const loaded = ctx.loaded ?? (ctx.loaded = await loadManifest(ctx.bucket, ctx.prefix, ctx.now()))
    let outcome: StepOutcome<T> | null
    const started = ctx.now()
    try {
      outcome = await build(loaded)
    } catch (e) {
      if (e instanceof StaleManifest) { forget(ctx); onRetry(); continue }
      throw e
    }
    if (!outcome) return null
    if (ctx.now() - started > ctx.options.orphanAfterMs / 2) {
      // Its outputs may already look like orphans to another compactor's sweep: never commit them.
      if (outcome.written.length) await deleteKeys(ctx.bucket, outcome.written, ctx.options.concurrency)
      const seconds = Math.round((ctx.now() - started) / 1000)
      throw new CompactionConflictError(`a compaction step ran for ${seconds} s, past half of orphanAfterMs; ` +
        'its outputs were discarded')
    }
    let next
    try {
      next = applyEdit(loaded.manifest, outcome.edit, ctx.now())
    } catch (e) {
      // An edit that contradicts its own manifest is a bug; what it wrote is referenced by nothing.
      if (outcome.written.length) await deleteKeys(ctx.bucket, outcome.written, ctx.options.concurrency)
      throw e
    }
    const etag = await commitManifest(ctx.bucket, ctx.prefix, loaded, next)
    if (etag) {
      ctx.loaded = { manifest: next, etag }
      return outcome.result
    }
    forget(ctx)
    onRetry()
    if (outcome.written.length) await deleteKeys(ctx.bucket, outcome.written, ctx.options.concurrency)
  }
  throw new CompactionConflictError(`lost the manifest race ${ctx.options.maxCasRetries} times in a row; ` +
    'another compactor is running — this pass yields to it')
}
