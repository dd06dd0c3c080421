/**
 * The Avro schemas of Iceberg v2 manifest lists (`manifest_file`) and manifests (`manifest_entry`),
 * with the field ids of the Iceberg spec: readers such as Spark and Trino resolve fields by id.
 */

import type { AvroField, AvroType } from './avro_file.js'

const opt = (type: AvroType): AvroType[] => ['null', type]

/** A map from column id to a value, as Iceberg writes maps in Avro: an array of key/value records. */
function idMap(name: string, keyId: number, valueId: number, value: 'long' | 'bytes', fieldId: number): AvroField {
  return {
    name, 'field-id': fieldId, default: null,
    type: opt({
      type: 'array', logicalType: 'map',
      items: {
        type: 'record', name: `k${keyId}_v${valueId}`,
        fields: [{ name: 'key', type: 'int', 'field-id': keyId }, { name: 'value', type: value, 'field-id': valueId }],
      },
    }),
  }
}

export const MANIFEST_FILE_SCHEMA: AvroType = {
  type: 'record', name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    {
      name: 'partitions', 'field-id': 507, default: null,
      type: opt({
        type: 'array', 'element-id': 508,
        items: {
          type: 'record', name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            { name: 'contains_nan', type: opt('boolean'), 'field-id': 518, default: null },
            { name: 'lower_bound', type: opt('bytes'), 'field-id': 510, default: null },
            { name: 'upper_bound', type: opt('bytes'), 'field-id': 511, default: null },
          ],
        },
      }),
    },
    { name: 'key_metadata', type: opt('bytes'), 'field-id': 519, default: null },
  ],
}

/** The manifest entry schema for a table partitioned by one int field (the hour transform's output). */
export function manifestEntrySchema(partitionField: { name: string; fieldId: number }): AvroType {
  return {
    type: 'record', name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      { name: 'snapshot_id', type: opt('long'), 'field-id': 1, default: null },
      { name: 'sequence_number', type: opt('long'), 'field-id': 3, default: null },
      { name: 'file_sequence_number', type: opt('long'), 'field-id': 4, default: null },
      {
        name: 'data_file', 'field-id': 2,
        type: {
          type: 'record', name: 'r2',
          fields: [
            { name: 'content', type: 'int', 'field-id': 134 },
            { name: 'file_path', type: 'string', 'field-id': 100 },
            { name: 'file_format', type: 'string', 'field-id': 101 },
            {
              name: 'partition', 'field-id': 102,
              type: {
                type: 'record', name: 'r102',
                fields: [
                  { name: partitionField.name, type: opt('int'), 'field-id': partitionField.fieldId, default: null },
                ],
              },
            },
            { name: 'record_count', type: 'long', 'field-id': 103 },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
            idMap('column_sizes', 117, 118, 'long', 108),
            idMap('value_counts', 119, 120, 'long', 109),
            idMap('null_value_counts', 121, 122, 'long', 110),
            idMap('nan_value_counts', 138, 139, 'long', 137),
            idMap('lower_bounds', 126, 127, 'bytes', 125),
            idMap('upper_bounds', 129, 130, 'bytes', 128),
            { name: 'key_metadata', type: opt('bytes'), 'field-id': 131, default: null },
            { name: 'split_offsets', type: opt({ type: 'array', items: 'long', 'element-id': 133 }), 'field-id': 132,
              default: null },
            { name: 'equality_ids', type: opt({ type: 'array', items: 'int', 'element-id': 136 }), 'field-id': 135,
              default: null },
            { name: 'sort_order_id', type: opt('int'), 'field-id': 140, default: null },
          ],
        },
      },
    ],
  }
}
