import type { PublishedTable } from '../manifest/index.js'
import { dataPrefix, tableMetadataKey } from '../storage/index.js'

/** In every snapshot summary the store writes: a catalog's snapshot without it came from another writer. */
export const PUBLISHED_MARK = 'parquedb.published'

/** The partition field every table has: the hour of its time field (the engine cuts files on UTC hours). */
export const PARTITION_FIELD_ID = 1000

export function partitionFieldName(timeField: string): string {
  return `${timeField}_hour`
}

export function partitionSpec(t: PublishedTable) {
  return {
    'spec-id': 0,
    fields: [
      { name: t.partitionField, transform: 'hour', 'source-id': t.partitionSourceId, 'field-id': PARTITION_FIELD_ID },
    ],
  }
}

/** Where a table lives for other engines: its data folder under the store's location. */
export function tableLocation(location: string, prefix: string, name: string): string {
  return `${location}/${dataPrefix(prefix, name).slice(0, -1)}`
}

/**
 * The table metadata JSON (Iceberg spec v2) of a published state. A pure function of the state, so
 * the pointers written after a commit can be written again, identical, by whichever pass finds them
 * missing (crash-safe).
 */
export function renderMetadata(t: PublishedTable, location: string, prefix: string, name: string): string {
  const current = t.snapshots.at(-1)
  const uri = (key: string) => `${location}/${key}`
  return JSON.stringify({
    'format-version': 2,
    'table-uuid': t.uuid,
    location: tableLocation(location, prefix, name),
    'last-sequence-number': t.lastSequence,
    'last-updated-ms': t.updatedAt,
    'last-column-id': t.lastColumnId,
    'current-schema-id': t.currentSchemaId,
    schemas: t.schemas,
    'default-spec-id': 0,
    'partition-specs': [partitionSpec(t)],
    'last-partition-id': PARTITION_FIELD_ID,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: {
      'schema.name-mapping.default': t.nameMapping,
      'write.format.default': 'parquet',
      'parquedb.note': 'published by parquedb from its manifest; read-only for other engines',
    },
    'current-snapshot-id': current?.id ?? -1,
    refs: current ? { main: { 'snapshot-id': current.id, type: 'branch' } } : {},
    snapshots: t.snapshots.map(s => ({
      'snapshot-id': s.id,
      ...(s.parentId !== undefined ? { 'parent-snapshot-id': s.parentId } : {}),
      'sequence-number': s.sequence,
      'timestamp-ms': s.at,
      'manifest-list': uri(s.manifestList),
      summary: s.summary,
      'schema-id': s.schemaId,
    })),
    'snapshot-log': t.snapshots.map(s => ({ 'timestamp-ms': s.at, 'snapshot-id': s.id })),
    'metadata-log': t.metadataLog.map(l => ({
      'timestamp-ms': l.at, 'metadata-file': uri(tableMetadataKey(prefix, name, l.version)),
    })),
  })
}
