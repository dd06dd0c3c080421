import avro from 'avsc'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AvroError, MANIFEST_FILE_SCHEMA, decodeAvroFile, encodeAvroDatum, encodeAvroFile, manifestEntrySchema,
} from '../../src/iceberg/index.js'
import { avscReadFile } from '../helpers/avsc_read.js'

/**
 * The engine writes Iceberg's Avro itself (avsc cannot run in workerd: it generates code with
 * `new Function`); avsc, an independent implementation, is the reference here.
 */
const ENTRY = manifestEntrySchema({ name: 't_hour', fieldId: 1000 })
// avsc's longs stop short of ±(2^53 − 1); ids and counts here stay below 2^53.
const long = fc.oneof(fc.integer(), fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.constant(2 ** 31), fc.constant(2 ** 53 - 2))
const bytes = fc.uint8Array({ maxLength: 20 }).map(b => Buffer.from(b))
const idMap = <T>(v: fc.Arbitrary<T>) => fc.option(fc.array(fc.record({ key: fc.integer(), value: v }), { maxLength: 4 }))
const entry = fc.record({
  status: fc.integer({ min: 0, max: 2 }),
  snapshot_id: fc.option(long),
  sequence_number: fc.option(long),
  file_sequence_number: fc.option(long),
  data_file: fc.record({
    content: fc.constant(0),
    file_path: fc.string({ unit: 'grapheme' }),
    file_format: fc.constant('PARQUET'),
    partition: fc.record({ t_hour: fc.option(fc.integer()) }),
    record_count: long,
    file_size_in_bytes: long,
    column_sizes: idMap(long),
    value_counts: idMap(long),
    null_value_counts: idMap(long),
    nan_value_counts: idMap(long),
    lower_bounds: idMap(bytes),
    upper_bounds: idMap(bytes),
    key_metadata: fc.option(bytes),
    split_offsets: fc.option(fc.array(long, { maxLength: 3 })),
    equality_ids: fc.option(fc.array(fc.integer(), { maxLength: 3 })),
    sort_order_id: fc.option(fc.integer()),
  }),
})
const manifestFile = fc.record({
  manifest_path: fc.string(), manifest_length: long, partition_spec_id: fc.integer(), content: fc.integer(),
  sequence_number: long, min_sequence_number: long, added_snapshot_id: long, added_files_count: fc.integer(),
  existing_files_count: fc.integer(), deleted_files_count: fc.integer(), added_rows_count: long,
  existing_rows_count: long, deleted_rows_count: long,
  partitions: fc.option(fc.array(fc.record({
    contains_null: fc.boolean(), contains_nan: fc.option(fc.boolean()), lower_bound: fc.option(bytes),
    upper_bound: fc.option(bytes),
  }), { maxLength: 2 })),
  key_metadata: fc.option(bytes),
})

/** Compares decoded values with Buffers and Uint8Arrays alike. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) =>
  (x && typeof x === 'object' && 'type' in x && (x as { type: unknown }).type === 'Buffer'
    ? { bytes: (x as unknown as { data: number[] }).data } : x instanceof Uint8Array ? { bytes: [...x] } : x)))

describe('Avro files for Iceberg', () => {
  for (const [name, schema, arb] of [['manifest_entry', ENTRY, entry], ['manifest_file', MANIFEST_FILE_SCHEMA, manifestFile]] as const) {
    it(`${name}: each datum encodes byte for byte as avsc encodes it, and files read back both ways`, async () => {
      const type = avro.Type.forSchema(schema as avro.Schema)
      await fc.assert(fc.asyncProperty(fc.array(arb as fc.Arbitrary<Record<string, unknown>>, { maxLength: 5 }), async records => {
        for (const r of records) expect(Buffer.from(encodeAvroDatum(schema, r))).toEqual(type.toBuffer(r))
        const file = encodeAvroFile(schema, records, { 'format-version': '2' })
        const byAvsc = await avscReadFile(file)
        expect(byAvsc.metadata['format-version']).toBe('2')
        expect(byAvsc.schema).toEqual(schema)
        expect(plain(byAvsc.records)).toEqual(plain(records))
        // A file avsc writes (several blocks) reads back with the engine's decoder, which reads its previous manifests.
        if (!records.length) return // avsc writes no header for an empty stream
        const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, { blockSize: 64 })
        const chunks: Buffer[] = []
        const done = new Promise(resolve => { encoder.on('data', (c: Buffer) => chunks.push(c)); encoder.on('end', resolve) })
        for (const r of records) encoder.write(r)
        encoder.end()
        await done
        expect(plain(decodeAvroFile(new Uint8Array(Buffer.concat(chunks))).records)).toEqual(plain(records))
      }), { numRuns: 60 })
    })
  }

  it('refuses what does not fit, naming where', () => {
    expect(() => encodeAvroDatum(MANIFEST_FILE_SCHEMA, { manifest_path: 'x' })).toThrow(AvroError)
    expect(() => encodeAvroDatum('int', 2 ** 31)).toThrow(/is not an Avro int/)
    expect(() => encodeAvroDatum('long', 2 ** 60)).toThrow(/not an integer Avro can hold exactly/)
    const file = encodeAvroFile('long', [1, 2, 3], {})
    expect(decodeAvroFile(file).records).toEqual([1, 2, 3])
    expect(() => decodeAvroFile(file.subarray(0, file.length - 20), 'm.avro')).toThrow(/m\.avro: /)
    expect(() => decodeAvroFile(new TextEncoder().encode('{"not":"avro"}'))).toThrow(/not an Avro container file/)
  })
})
