import type { LoadedManifest, Manifest, PublishedTable } from '../manifest/index.js'
import { tableMetadataKey, versionHintKey } from '../storage/index.js'
import { type StepOutcome, commitStep } from './commit_step.js'
import type { PassContext } from './pass_context.js'

/** What a publish step did: the tables that got a new snapshot or metadata version. */
export interface PublishResult {
  tables: string[]
}

/**
 * Publishes the store for other engines; `parquedb/iceberg` implements it as Apache Iceberg tables.
 * Injected rather than imported, so only a store that publishes carries the publisher's code.
 */
export interface TablePublisher {
  /** Builds the publish edit on one manifest (new snapshots, expired ones dropped); null when all is current. */
  build(ctx: PassContext, loaded: LoadedManifest): Promise<StepOutcome<PublishResult> | null>
  /**
   * After the commit: writes the pointers path-based readers follow (metadata JSON, version hint) for
   * what the manifest says is published, and repairs them where a pass died before writing them.
   */
  sync(ctx: PassContext, manifest: Manifest): Promise<void>
}

/**
 * The publish step, at most once per pass and before garbage collection: one commit for every table,
 * then the pointers. Without a publisher, tables an earlier configuration published are forgotten and
 * their metadata goes to garbage, so their snapshots stop holding replaced files (safe-gc).
 */
export async function publishTables(
  ctx: PassContext, publisher: TablePublisher | undefined, onRetry: () => void,
): Promise<string[]> {
  if (!publisher) {
    await commitStep(ctx, async loaded => forgetTables(ctx.prefix, loaded.manifest), onRetry)
    return []
  }
  const r = await commitStep(ctx, loaded => publisher.build(ctx, loaded), onRetry)
  const manifest = ctx.loaded?.manifest
  // The snapshot is committed; pointers that fail to update are repaired by the next pass (crash-safe).
  if (manifest) {
    await publisher.sync(ctx, manifest).catch((e: unknown) => console.warn(
      `parquedb: published tables are committed, but their metadata pointers could not be written: ` +
      `${(e as Error)?.message ?? String(e)}`,
    ))
  }
  return r?.tables ?? []
}

function forgetTables(prefix: string, m: Manifest): StepOutcome<PublishResult> | null {
  const names = Object.keys(m.tables ?? {})
  if (!names.length) return null
  const garbage = names.flatMap(n => tableObjects(prefix, n, m.tables![n]!))
  const tables = Object.fromEntries(names.map(n => [n, null]))
  return { edit: { tables, garbage }, written: [], result: { tables: [] } }
}

/** Every object a published table's state accounts for: metadata versions, the hint, snapshots' Avro files. */
export function tableObjects(prefix: string, name: string, t: PublishedTable): string[] {
  return [
    ...[...t.metadataLog.map(l => l.version), t.version].map(v => tableMetadataKey(prefix, name, v)),
    versionHintKey(prefix, name),
    ...t.snapshots.flatMap(s => [s.manifestList, ...s.manifests]),
  ]
}
