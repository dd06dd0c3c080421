import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { writeDataFile } from '../../src/compactor/index.js'
import { readFileRowGroups } from '../../src/query/index.js'
import { VariantEncoder } from '../../src/compactor/variant_encoder.js'
import { ColumnBuilder, compileCollection, type StoredRow, toParquetRecord } from '../../src/schema/index.js'
import { MemoryBucket } from '../../src/storage/index.js'
import { downloadObjects, duck, fileList } from '../helpers/duckdb.js'

// The engine encodes VARIANT values itself (compactor/variant_encoder.ts, one reused buffer); these
// check that what it writes reads back equal through hyparquet and through DuckDB, an independent reader.
const schema = compileCollection('V', { t: 'timestamp!', v: 'variant?' })
const T0 = Date.parse('2024-01-15T00:00:00Z')
const target = { prefix: '', collection: 'V', partition: 'dt=2024-01-15/hour=00', level: 0 as const, createdAt: T0, rowGroupRows: 50 }

async function roundTrip(values: unknown[]): Promise<{ back: unknown[]; bucket: MemoryBucket; key: string }> {
  const bucket = new MemoryBucket()
  const rows: StoredRow[] = values.map((v, i) => ({ t: T0 + i, v }))
  const file = (await writeDataFile(bucket, schema, rows, target))!
  const back: unknown[] = []
  for await (const group of readFileRowGroups(bucket, schema, file)) back.push(...group.map(r => r.v))
  return { back, bucket, key: file.key }
}

const many = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i))
const EDGES: unknown[] = [
  null, true, false, 0, -1, 127, 128, -128, -129, 32767, 32768, -32769, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1,
  2 ** 53 - 1, -(2 ** 53) + 1, 0.5, -1e-300, 1e300, '', 'a', 'x'.repeat(63), 'y'.repeat(64), 'é'.repeat(40),
  '😀 and text', [], {}, [[[]]], { a: { b: { c: [1, { d: null }] } } },
  many(300, i => i), many(300, i => ({ k: i })), Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key${i}`, i])),
  { 'ü': 1, 'z': 2, '😀': 3, '\uFFFF': 4, '': 5, 'A': 6 }, { long: 'z'.repeat(70_000) },
  many(20, i => 'w'.repeat(i * 50)),
]

describe('VARIANT values written by the engine', () => {
  it('read back equal: edge cases of every width (ints, offsets, ids, long strings, > 255 elements)', async () => {
    const { back } = await roundTrip(EDGES)
    expect(back).toEqual(EDGES)
  })

  it('read back equal: random JSON values, across row groups', async () => {
    const json: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>(tie => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 80 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).map(n => (n === 0 ? 0 : n)),
        fc.boolean(), fc.constant(null),
        fc.array(tie('v'), { maxLength: 5 }),
        fc.dictionary(fc.string({ maxLength: 6 }).filter(k => k !== '__proto__'), tie('v'), { maxKeys: 5 }),
      ),
    })).v
    await fc.assert(fc.asyncProperty(fc.array(json, { minLength: 1, maxLength: 120 }), async values => {
      // A lone surrogate has no UTF-8 form: the engine refuses such strings before they get here.
      const wellFormed = JSON.parse(JSON.stringify(values).replace(/\\ud[89a-f][0-9a-f]{2}/gi, '?')) as unknown[]
      const { back } = await roundTrip(wellFormed)
      expect(back).toEqual(wellFormed)
    }), { numRuns: 60 })
  })

  it('DuckDB reads the same values', async () => {
    const values = EDGES.filter(v => JSON.stringify(v).length < 10_000)
    const { bucket, key } = await roundTrip(values)
    const [path] = await downloadObjects(bucket, [key])
    const rows = await duck(`SELECT v::JSON::VARCHAR AS v FROM read_parquet(${fileList([path!])}) ORDER BY t`)
    expect(rows.map(r => (r.v === null ? null : JSON.parse(r.v as string)))).toEqual(values)
  })

  it('promoted places are written as null from the rows themselves, as from a copy with them set to null', () => {
    // Layout 2 takes a promoted value out of its VARIANT: the encoder does it walking the value along the
    // column's mask, without copying the row. Its bytes must equal those of the copy (toParquetRecord),
    // for every shape: the value of another type (kept), an array on the path, the path through an array
    // index, two promotions of one path, a key that only looks like the step.
    const masked = compileCollection('M', {
      t: 'timestamp!', e: 'variant?', x: 'variant[]',
      $promote: {
        u: { path: 'e.req.url', type: 'string' }, s: { path: 'e.res.status', type: 'int' },
        d: { path: 'e.res.status', type: 'double' }, n: { path: 'x.0.name', type: 'string' },
        z: { path: 'e.0', type: 'string' },
      },
    })
    const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constant(null), fc.constant(1.5), fc.boolean())
    const step = <T>(inner: fc.Arbitrary<T>) => fc.oneof(inner, leaf, fc.array(inner, { maxLength: 2 }))
    const e = fc.oneof(
      fc.record({ req: step(fc.record({ url: leaf, m: leaf }, { requiredKeys: [] })),
        res: step(fc.record({ status: leaf }, { requiredKeys: [] })), '0': leaf }, { requiredKeys: [] }),
      fc.array(leaf, { maxLength: 3 }), leaf)
    const x = fc.array(fc.oneof(fc.record({ name: leaf, message: leaf }, { requiredKeys: [] }), leaf), { maxLength: 3 })
    fc.assert(fc.property(fc.array(fc.record({ e, x }), { minLength: 1, maxLength: 20 }), values => {
      const rows: StoredRow[] = values.map((v, i) => ({ t: T0 + i, ...v }))
      const before = JSON.stringify(rows)
      const builder = new ColumnBuilder(masked)
      for (const r of rows) builder.add(r)
      const records = rows.map(r => toParquetRecord(masked, r))
      for (const [i, spec] of builder.specs.entries()) {
        if (spec.type !== 'VARIANT') continue
        const direct = new VariantEncoder().encodeColumn(builder.data[i]!, builder.masks[i])
        const copied = new VariantEncoder().encodeColumn(records.map(r => r[spec.name]))
        expect(direct.map(v => v && [...v.metadata, -1, ...v.value])).toEqual(copied.map(v => v && [...v.metadata, -1, ...v.value]))
      }
      expect(JSON.stringify(rows)).toBe(before) // the rows are not changed
    }), { numRuns: 200 })
  })
})
