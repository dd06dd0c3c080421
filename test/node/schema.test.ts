import { describe, expect, it } from 'vitest'
import { DB, SchemaError } from '../../src/index.js'
import { compileCollection, normalizeRow } from '../../src/schema/index.js'
import { TailEvents } from '../../src/tail/index.js'

describe('schema language', () => {
  it('compiles the spec TailEvents: required/optional/array fields, time field, promoted columns', () => {
    const s = compileCollection('TailEvents', TailEvents)
    expect(s.typeName).toBe('TailEvent')
    expect(s.ingest).toBe('tail')
    expect(s.timeField).toBe('eventTimestamp')
    expect(s.fields.find(f => f.name === 'scriptName')).toEqual({ name: 'scriptName', type: 'string', required: true, array: false })
    expect(s.fields.find(f => f.name === 'event')).toEqual({ name: 'event', type: 'variant', required: false, array: false })
    expect(s.fields.find(f => f.name === 'logs')).toEqual({ name: 'logs', type: 'variant', required: false, array: true })
    expect(s.promoted.map(p => p.name)).toEqual(['url', 'method', 'status', 'colo', 'country', 'exceptionName', 'exceptionMessage'])
  })

  it.each([
    [{ a: 'strng!' , t: 'timestamp!' }, /X\.a: unknown type "strng"/],
    [{ a: 42, t: 'timestamp!' }, /X\.a: field type must be a string/],
    [{ a: 'string[]!', t: 'timestamp!' }, /arrays are never null/],
    [{ a: 'string!' }, /needs a required timestamp field/],
    [{ t: 'timestamp!', $ingest: 'queue' }, /\$ingest: only 'tail'/],
    [{ t: 'timestamp!', $bogus: 1 }, /unknown key \$bogus/],
    [{ 'bad-name': 'string', t: 'timestamp!' }, /field names must match/],
    [{ t: 'timestamp!', v: 'variant', $promote: { x: { path: 'v', type: 'string' } } }, /must be a dotted path/],
    [{ t: 'timestamp!', v: 'string', $promote: { x: { path: 'v.a', type: 'string' } } }, /v is not a variant field/],
  ])('rejects %j with a message naming the problem', (def, message) => {
    expect(() => compileCollection('X', def as Record<string, unknown>)).toThrow(message)
    expect(() => DB({ X: def as Record<string, unknown> }, { storage: { type: 'memory' } })).toThrow(SchemaError)
  })

  it('DB() rejects reserved names, views it cannot serve yet, and a missing storage', () => {
    expect(() => DB({ compact: TailEvents }, { storage: { type: 'memory' } })).toThrow(/reserved/)
    expect(() => DB({ TailEvents, V: { $from: 'Nope' } }, { storage: { type: 'memory' } })).toThrow(/view V\.\$from: "Nope" is neither a collection nor a view/)
    expect(() => DB({ TailEvents, A: { $from: 'B' }, B: { $from: 'A' } }, { storage: { type: 'memory' } })).toThrow(/cycle/)
    expect(() => DB({ TailEvents }, {} as never)).toThrow(/storage is required/)
    expect(() => DB({ TailEvents }, { storage: { type: 'nope' } as never })).toThrow(/unknown storage type "nope"/)
  })

  it('normalizes rows: timestamps to ms, missing arrays to [], optional to null; rejects wrong types', () => {
    const s = compileCollection('TailEvents', TailEvents)
    const ok = normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: '2024-01-15T00:00:00Z' })
    expect(ok).toMatchObject({ ok: true, row: { eventTimestamp: Date.parse('2024-01-15T00:00:00Z'), logs: [], event: null, cpuTime: null } })
    expect(normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: 1, cpuTime: 1.5 })).toEqual({ ok: false, reason: 'cpuTime: expected an integer, got the number 1.5' })
    expect(normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: 1, logs: 'x' })).toEqual({ ok: false, reason: 'logs: expected an array, got the string "x"' })
    expect(normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: 1, scriptTags: [1] })).toEqual({ ok: false, reason: 'scriptTags: [0]: expected a string, got the number 1' })
    expect(normalizeRow(s, null)).toEqual({ ok: false, reason: 'expected an object, got null' })
    expect(normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: new Date(NaN) }).ok).toBe(false)
    expect(normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: -1 })).toEqual({ ok: false, reason: 'eventTimestamp: 1969-12-31T23:59:59.999Z is outside 1970-01-01 to 9999-12-31' })
    const fn = normalizeRow(s, { scriptName: 'a', outcome: 'ok', eventTimestamp: 1, event: { f: () => 1 } })
    expect(fn).toEqual({ ok: false, reason: 'event: f: cannot store a function' })
  })
})
