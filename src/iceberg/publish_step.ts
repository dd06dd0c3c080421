import type { PassContext, PublishResult, StepOutcome } from '../compactor/index.js'
import { tableObjects } from '../compactor/index.js'
import {
  type DataFile, type LoadedManifest, type PublishedSnapshot, type PublishedTable, tableFingerprint,
} from '../manifest/index.js'
import type { CollectionSchema } from '../schema/index.js'
import { manifestListKey, partitionRange, tableManifestKey, tableMetadataKey } from '../storage/index.js'
import { MANIFEST_FILE_SCHEMA, manifestEntrySchema } from './avro_schemas.js'
import { decodeAvroFile, encodeAvroFile } from './avro_file.js'
import { fileMetrics, hourOf, intBound } from './file_stats.js'
import { PARTITION_FIELD_ID, PUBLISHED_MARK, partitionFieldName, partitionSpec } from './table_metadata.js'
import { type TableSchema, tableSchema } from './table_schema.js'

/** A collection or row view as a table: aggregating views store partial states, not rows, and are left out. */
export interface TableTarget {
  name: string
  schema: CollectionSchema
}

export function publishTargets(ctx: PassContext): TableTarget[] {
  return [
    ...ctx.collections.map(schema => ({ name: schema.name, schema })),
    ...ctx.views.filter(v => !v.aggregate).map(v => ({ name: v.name, schema: v.stored })),
  ]
}

/**
 * The publish step: for every table whose live files, schema or retained snapshots changed, writes a
 * new snapshot's manifest and manifest list (fresh keys, so a lost race deletes only its own) and
 * returns the tables' new states as one edit. Nothing is visible to readers until the commit and the
 * pointers written after it (crash-safe). Snapshots whose successor is older than the grace period
 * expire, and their objects go to garbage (safe-gc).
 */
export async function buildPublish(
  ctx: PassContext, loaded: LoadedManifest, location: string,
): Promise<StepOutcome<PublishResult> | null> {
  const m = loaded.manifest
  const targets = publishTargets(ctx)
  const tables: Record<string, PublishedTable | null> = {}
  const written: string[] = []
  const garbage: string[] = []
  for (const [name, t] of Object.entries(m.tables ?? {})) {
    if (targets.some(x => x.name === name)) continue
    tables[name] = null
    garbage.push(...tableObjects(ctx.prefix, name, t))
  }
  try {
    for (const target of targets) {
      const next = await publishTable(ctx, loaded, target, location, written, garbage)
      if (next) tables[target.name] = next
    }
  } catch (e) {
    // Nothing references what this step wrote; the sweep would take hours to find it.
    if (written.length) await ctx.bucket.delete(written).catch(() => {})
    throw e
  }
  const names = Object.keys(tables)
  if (!names.length) return null
  return { edit: { tables, garbage }, written, result: { tables: names.filter(n => tables[n]) } }
}

async function publishTable(
  ctx: PassContext, loaded: LoadedManifest, target: TableTarget, location: string,
  written: string[], garbage: string[],
): Promise<PublishedTable | null> {
  const now = ctx.now()
  const grace = ctx.options.graceMs
  const prior = loaded.manifest.tables?.[target.name]
  const files = (loaded.manifest.collections[target.name]?.files ?? []).filter(f => !f.pending)
  const ts = tableSchema(target.schema, prior)
  const fingerprint = tableFingerprint(files)
  const fieldsJson = JSON.stringify(ts.fields)
  const currentSchema = prior?.schemas.find(s => s['schema-id'] === prior.currentSchemaId)
  const schemaChanged = !currentSchema || JSON.stringify(currentSchema.fields) !== fieldsJson
  const snapshotChanged = !prior || prior.fingerprint !== fingerprint
  // A snapshot is kept while its successor is younger than the grace period: readers of the
  // metadata that made it current still find every file it lists.
  const snapshots = prior?.snapshots ?? []
  const expired = snapshots.filter((s, i) => i < snapshots.length - 1 && snapshots[i + 1]!.at + grace <= now)
  const log = prior?.metadataLog ?? []
  const supersededAt = (i: number) => (i + 1 < log.length ? log[i + 1]!.at : prior!.updatedAt)
  // Old log entries are trimmed only when publishing for another reason: trimming alone would add an
  // entry of its own, so an idle table would republish every pass and never settle (bounded-work).
  if (prior && !snapshotChanged && !schemaChanged && !expired.length) return null
  const oldLog = log.filter((_, i) => supersededAt(i) + grace <= now)

  const schemaId = schemaChanged
    ? Math.max(-1, ...(prior?.schemas ?? []).map(s => Number(s['schema-id']))) + 1
    : prior!.currentSchemaId
  const schemaJson = { type: 'struct', 'schema-id': schemaId, fields: ts.fields }
  const keptSchemaIds = new Set([schemaId, ...snapshots.filter(s => !expired.includes(s)).map(s => s.schemaId)])
  const schemas = [...(prior?.schemas ?? []).filter(s => keptSchemaIds.has(Number(s['schema-id']))),
    ...(schemaChanged ? [schemaJson] : [])]
  const base: Omit<PublishedTable, 'snapshots' | 'lastSequence' | 'fingerprint'> = {
    uuid: prior?.uuid ?? crypto.randomUUID(),
    version: (prior?.version ?? 0) + 1,
    updatedAt: now,
    lastColumnId: ts.lastColumnId,
    fieldIds: ts.fieldIds,
    schemas,
    currentSchemaId: schemaId,
    nameMapping: JSON.stringify(ts.nameMapping),
    partitionField: partitionFieldName(target.schema.timeField),
    partitionSourceId: ts.timeFieldId,
    metadataLog: [
      ...log.filter(l => !oldLog.includes(l)), ...(prior ? [{ version: prior.version, at: prior.updatedAt }] : []),
    ],
  }
  for (const s of expired) garbage.push(s.manifestList, ...s.manifests)
  for (const l of oldLog) garbage.push(tableMetadataKey(ctx.prefix, target.name, l.version))
  let kept = snapshots.filter(s => !expired.includes(s))
  let lastSequence = prior?.lastSequence ?? 0
  if (snapshotChanged) {
    const snap = await writeSnapshot(ctx, target, { ...base, snapshots: kept, lastSequence, fingerprint },
      files, ts, schemaJson, location, written, loaded.manifest.version)
    kept = [...kept, snap]
    lastSequence = snap.sequence
  }
  return { ...base, snapshots: kept, lastSequence, fingerprint }
}

interface PriorEntry {
  snapshot_id: number
  sequence_number: number
  file_sequence_number: number
  data_file: Record<string, unknown> & { file_path: string; record_count: number }
}

/**
 * Writes one snapshot: a manifest listing every live file (EXISTING with its original snapshot and
 * sequence numbers when the previous snapshot listed it, else ADDED) and, as DELETED, the files the
 * previous snapshot listed that are gone; then the manifest list. Incremental readers see exactly
 * what changed.
 */
async function writeSnapshot(
  ctx: PassContext, target: TableTarget, table: PublishedTable, files: DataFile[], ts: TableSchema,
  schemaJson: object, location: string, written: string[], version: number,
): Promise<PublishedSnapshot> {
  const now = ctx.now()
  const parent = table.snapshots.at(-1)
  const sequence = table.lastSequence + 1
  const id = snapshotId()
  const uri = (key: string) => `${location}/${key}`
  const before = new Map<string, PriorEntry>()
  for (const key of parent?.manifests ?? []) {
    const body = await ctx.bucket.get(key)
    if (!body) throw new Error(`iceberg: ${key}, a manifest of the current snapshot of ${target.name}, is missing`)
    const { records } = decodeAvroFile(new Uint8Array(await body.arrayBuffer()), key)
    for (const r of records as unknown as (PriorEntry & { status: number })[]) {
      if (r.status !== 2) before.set(r.data_file.file_path, r)
    }
  }
  const partitionName = table.partitionField
  const entries: unknown[] = []
  const count = { added: 0, existing: 0, deleted: 0, addedRows: 0, existingRows: 0, deletedRows: 0 }
  let minSeq = sequence
  const hours: number[] = []
  for (const f of files) {
    const path = uri(f.key)
    const prev = before.get(path)
    before.delete(path)
    const hour = hourOf(partitionRange(f.partition)[0])
    hours.push(hour)
    const seq = prev ? prev.sequence_number : sequence
    minSeq = Math.min(minSeq, seq)
    if (prev) { count.existing++; count.existingRows += f.rows } else { count.added++; count.addedRows += f.rows }
    entries.push({
      status: prev ? 0 : 1,
      snapshot_id: prev ? prev.snapshot_id : id,
      sequence_number: seq,
      file_sequence_number: prev ? prev.file_sequence_number : sequence,
      data_file: {
        content: 0, file_path: path, file_format: 'PARQUET', partition: { [partitionName]: hour },
        record_count: f.rows, file_size_in_bytes: f.bytes, column_sizes: null, nan_value_counts: null,
        ...fileMetrics(f, ts), key_metadata: null, split_offsets: null, equality_ids: null, sort_order_id: null,
      },
    })
  }
  for (const gone of before.values()) {
    count.deleted++
    count.deletedRows += gone.data_file.record_count
    entries.push({ ...gone, status: 2, snapshot_id: id })
  }
  const entrySchema = manifestEntrySchema({ name: partitionName, fieldId: PARTITION_FIELD_ID })
  const manifestBytes = encodeAvroFile(entrySchema, entries, {
    schema: JSON.stringify(schemaJson),
    'schema-id': String(table.currentSchemaId),
    'partition-spec': JSON.stringify(partitionSpec(table).fields),
    'partition-spec-id': '0',
    'format-version': '2',
    content: 'data',
  })
  const manifestKey = tableManifestKey(ctx.prefix, target.name, now)
  written.push(manifestKey)
  await ctx.bucket.put(manifestKey, manifestBytes)

  const listBytes = encodeAvroFile(MANIFEST_FILE_SCHEMA, [{
    manifest_path: uri(manifestKey), manifest_length: manifestBytes.byteLength, partition_spec_id: 0, content: 0,
    sequence_number: sequence, min_sequence_number: minSeq, added_snapshot_id: id,
    added_files_count: count.added, existing_files_count: count.existing, deleted_files_count: count.deleted,
    added_rows_count: count.addedRows, existing_rows_count: count.existingRows, deleted_rows_count: count.deletedRows,
    partitions: [{
      contains_null: false, contains_nan: false,
      lower_bound: hours.length ? intBound(Math.min(...hours)) : null,
      upper_bound: hours.length ? intBound(Math.max(...hours)) : null,
    }],
    key_metadata: null,
  }], {
    'snapshot-id': String(id),
    'parent-snapshot-id': parent ? String(parent.id) : 'null',
    'sequence-number': String(sequence),
    'format-version': '2',
  })
  const listKey = manifestListKey(ctx.prefix, target.name, now)
  written.push(listKey)
  await ctx.bucket.put(listKey, listBytes)

  const total = files.reduce((n, f) => n + f.rows, 0)
  return {
    id, ...(parent ? { parentId: parent.id } : {}), sequence, at: now, version, schemaId: table.currentSchemaId,
    manifestList: listKey, manifests: [manifestKey],
    summary: {
      operation: operation(count),
      'added-data-files': String(count.added), 'deleted-data-files': String(count.deleted),
      'added-records': String(count.addedRows), 'deleted-records': String(count.deletedRows),
      'total-data-files': String(files.length), 'total-records': String(total),
      'total-delete-files': '0', 'total-position-deletes': '0', 'total-equality-deletes': '0',
      [PUBLISHED_MARK]: 'true',
    },
  }
}

/** append: only added; delete: only removed; replace: rows rewritten (a merge); overwrite: both. */
function operation(c: { added: number; deleted: number; addedRows: number; deletedRows: number }): string {
  if (!c.deleted) return 'append'
  if (!c.added) return 'delete'
  return c.addedRows === c.deletedRows ? 'replace' : 'overwrite'
}

/** A positive id below 2^52, so it survives JSON and every reader of Avro longs as JS numbers. */
function snapshotId(): number {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2))
  return (a! & 0xfffff) * 2 ** 32 + b! || 1
}
