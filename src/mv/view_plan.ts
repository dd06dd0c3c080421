import {
  type Evaluator, type ExpressionEnv, type Predicate, compileExpression, compileFilter, expressionRoots, filterRoots,
} from '../expr/index.js'
import {
  type CollectionSchema, type FieldSpec, type PromotedColumn, SchemaError, type StoredRow, getPath,
} from '../schema/index.js'
import { type AggregateKind, type AggregateSpec } from './aggregates.js'
import { BUCKET_UNITS, type BucketUnit, bucketStart } from './time_bucket.js'

export type RefreshMode = { mode: 'streaming' } | { mode: 'scheduled'; schedule: string }

export interface GroupKey {
  name: string
  value: Evaluator
  /** A time bucket key: the value is the bucket start (ms). */
  bucket?: BucketUnit
}

/**
 * A compiled view: how one row of its source becomes rows of the view, and, for an
 * aggregating view, how those rows group and what is computed. Pure: maintenance and
 * reads run it over batches of source rows.
 */
export interface ViewPlan {
  name: string
  /** The definition as canonical text: a change means the stored view must be rebuilt. */
  definition: string
  from: string
  /** The collection at the bottom of the chain, whose WAL and batches feed this view. */
  root: string
  /** Views from the root up to and including this one. */
  chain: string[]
  refresh: RefreshMode
  /** Source row → rows of this view (before grouping, for an aggregating view). */
  rowsFrom(source: StoredRow): StoredRow[]
  aggregate?: { keys: GroupKey[]; computes: AggregateSpec[] }
  /** How the view is stored: selected fields (plus a hidden source time), or keys plus aggregate states. */
  stored: CollectionSchema
  /** What readers see: stored fields, or keys plus finalized aggregates. */
  output: CollectionSchema
}

/** Resolves a `$from` name to the schema its rows have (a collection, or a row view's output). */
export type SourceLookup = (name: string) => {
  schema: CollectionSchema; root: string; chain: string[]; aggregating: boolean; definition?: string
} | null

const KNOWN = new Set(['$from', '$filter', '$select', '$unnest', '$groupBy', '$compute', '$refresh'])
const HIDDEN_TIME = '_time'

export function compileView(
  name: string, def: Record<string, unknown>, lookup: SourceLookup, env: ExpressionEnv,
): ViewPlan {
  const fail = (key: string, msg: string): never => { throw new SchemaError(`view ${name}.${key}: ${msg}`) }
  for (const k of Object.keys(def)) if (!KNOWN.has(k)) fail(k, `unknown key; views take ${[...KNOWN].join(', ')}`)
  const from = def.$from
  if (typeof from !== 'string') return fail('$from', 'must name a collection or another view')
  if (from === name) fail('$from', 'a view cannot read itself')
  const source = lookup(from)
  if (!source) {
    return fail('$from', `${JSON.stringify(from)} is neither a collection nor a view of this DB ` +
      '(or the views form a cycle)')
  }
  if (source.aggregating) {
    fail('$from', `${from} is an aggregating view; views can read collections and non-aggregating views`)
  }
  const src = source.schema

  const refresh = compileRefresh(def.$refresh, fail)
  const wrap = <T>(key: string, f: () => T): T => {
    try { return f() } catch (e) { return fail(key, (e as Error).message) }
  }
  const filter: Predicate = wrap(
    '$filter', () => compileFilter(def.$filter as Record<string, unknown> | undefined, env),
  )

  // $unnest: one row per element of an array field, the element in the field's place.
  let unnest: string[] | null = null
  if (def.$unnest !== undefined) {
    const path = typeof def.$unnest === 'string'
      ? def.$unnest.replace(/^\$/, '')
      : fail('$unnest', 'must name an array field, like "logs"')
    const f = src.fields.find(x => x.name === path)
    if (!f || !f.array) fail('$unnest', `${JSON.stringify(path)} is not an array field of ${from}`)
    unnest = [path]
  }
  const expand = (row: StoredRow): StoredRow[] => {
    if (!filter(row)) return []
    if (!unnest) return [row]
    const arr = getPath(row, unnest)
    return Array.isArray(arr) ? arr.map(el => ({ ...row, [unnest![0]!]: el })) : []
  }

  const hasGroup = def.$groupBy !== undefined || def.$compute !== undefined
  if (hasGroup && def.$select !== undefined) {
    fail('$select', 'a view either selects ($select) or aggregates ($groupBy/$compute), not both')
  }
  checkFieldNames(def, src, from, fail)

  // A view is rebuilt when its own definition or any source view's changes.
  const definition = definitionText(def) + (source.definition ? `<-${source.definition}` : '')
  if (!hasGroup) {
    return { ...rowView(name, from, source, src, def.$select, unnest, expand, env, fail), refresh, definition }
  }
  return { ...aggregateView(name, from, source, src, def, unnest, expand, env, fail), refresh, definition }
}

/**
 * Every field a definition reads must exist in its source: a misspelt name would otherwise
 * yield a view of nulls (find() refuses unknown fields the same way).
 */
function checkFieldNames(
  def: Record<string, unknown>, src: CollectionSchema, from: string, fail: (k: string, m: string) => never,
): void {
  const names = src.fields.filter(f => !f.hidden).map(f => f.name)
  const check = (key: string, roots: Iterable<string>) => {
    for (const r of roots) {
      if (!names.includes(r)) {
        fail(key, `reads ${JSON.stringify(r)}, which ${from} does not have; its fields: ${names.join(', ')}`)
      }
    }
  }
  // Aggregate arguments and group keys may name a field without the `$`.
  const argRoots = (arg: unknown) => (
    typeof arg === 'string' && !arg.startsWith('$') && arg !== '*' ? [arg.split('.')[0]!] : expressionRoots(arg)
  )
  check('$filter', filterRoots(def.$filter))
  if (isPlainObject(def.$select)) {
    for (const [out, raw] of Object.entries(def.$select)) check(`$select.${out}`, expressionRoots(raw))
  }
  if (Array.isArray(def.$groupBy)) {
    for (const [i, g] of def.$groupBy.entries()) {
      check(`$groupBy[${i}]`, isPlainObject(g) ? expressionRoots(Object.values(g)) : argRoots(g))
    }
  }
  if (isPlainObject(def.$compute)) {
    for (const [out, raw] of Object.entries(def.$compute)) {
      if (!isPlainObject(raw)) continue
      for (const [op, arg] of Object.entries(raw)) {
        if (op in AGGREGATES) {
          check(`$compute.${out}`, op === '$percentile' && Array.isArray(arg) ? argRoots(arg[0]) : argRoots(arg))
        }
      }
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof RegExp)
}

/** Canonical text of a definition: sorted keys, RegExps and Dates spelled out. */
function definitionText(def: unknown): string {
  const canon = (v: unknown): unknown => {
    if (v instanceof RegExp) return { $regexp: String(v) }
    if (v instanceof Date) return { $date: v.getTime() }
    if (Array.isArray(v)) return v.map(canon)
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map(k => [k, canon((v as Record<string, unknown>)[k])]))
    }
    return v
  }
  return JSON.stringify(canon(def))
}

function compileRefresh(raw: unknown, fail: (k: string, m: string) => never): RefreshMode {
  if (raw === undefined) return { mode: 'streaming' }
  if (!raw || typeof raw !== 'object') {
    return fail('$refresh', "must be { mode: 'scheduled', schedule: '<cron>' } or { mode: 'streaming' }")
  }
  const { mode, schedule } = raw as { mode?: unknown; schedule?: unknown }
  if (mode === 'streaming') return { mode: 'streaming' }
  if (mode !== 'scheduled') {
    return fail('$refresh', `mode must be 'scheduled' or 'streaming', got ${JSON.stringify(mode)}`)
  }
  if (typeof schedule !== 'string' || !schedule.trim()) {
    return fail('$refresh', "a scheduled view needs schedule: '<cron expression>'")
  }
  return { mode: 'scheduled', schedule }
}

/** The type a `$path` into the source has, as far as the schema tells. */
function pathField(
  src: CollectionSchema, out: string, path: string[], unnest: string[] | null,
): Omit<FieldSpec, 'name'> {
  const root = src.fields.find(f => f.name === path[0])
  if (root && path.length === 1) {
    const unnested = unnest?.[0] === root.name
    return { type: root.type, required: !unnested && root.required, array: !unnested && root.array }
  }
  const promoted = src.promoted.find(p => p.path.join('.') === path.join('.'))
  if (promoted && !(unnest && path[0] === unnest[0])) return { type: promoted.type, required: false, array: false }
  void out
  return { type: 'variant', required: false, array: false }
}

function rowView(
  name: string, from: string, source: NonNullable<ReturnType<SourceLookup>>, src: CollectionSchema, select: unknown,
  unnest: string[] | null, expand: (r: StoredRow) => StoredRow[], env: ExpressionEnv,
  fail: (k: string, m: string) => never,
): Omit<ViewPlan, 'refresh' | 'definition'> {
  const chain = [...source.chain, name]
  if (select === undefined) {
    // A filter (and unnest) view keeps the source's shape and its promoted columns.
    const fields = unnest
      ? src.fields.map(f => (f.name === unnest[0]
        ? { ...f, array: false, required: false, type: 'variant' as const }
        : f))
      : src.fields
    const stored: CollectionSchema = {
      ...src, name, typeName: name, fields,
      promoted: unnest ? src.promoted.filter(p => p.path[0] !== unnest[0]) : src.promoted,
    }
    delete (stored as { ingest?: unknown }).ingest
    return { name, from, root: source.root, chain, rowsFrom: expand, stored, output: stored }
  }
  if (!select || typeof select !== 'object' || Array.isArray(select)) {
    return fail('$select', "must map output names to '$paths' or expressions")
  }
  const outs: { name: string; value: Evaluator; field: FieldSpec }[] = []
  let timeField: string | null = null
  for (const [out, raw] of Object.entries(select as Record<string, unknown>)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(out)) {
      fail(`$select.${out}`, 'output names must start with a letter and hold letters, digits, _')
    }
    let value: Evaluator
    try { value = compileExpression(raw, env) } catch (e) { return fail(`$select.${out}`, (e as Error).message) }
    let field: FieldSpec = { name: out, type: 'variant', required: false, array: false }
    if (typeof raw === 'string' && raw.startsWith('$')) {
      const path = raw.slice(1).split('.')
      field = { name: out, ...pathField(src, out, path, unnest) }
      if (path.length === 1 && path[0] === src.timeField && !timeField) timeField = out
    }
    outs.push({ name: out, value, field })
  }
  const fields = outs.map(o => o.field)
  if (!timeField) fields.push({ name: HIDDEN_TIME, type: 'timestamp', required: true, array: false, hidden: true })
  else {
    fields[fields.findIndex(f => f.name === timeField)] = { ...fields.find(f => f.name === timeField)!, required: true }
  }
  const tf = timeField ?? HIDDEN_TIME
  const srcTime = src.timeField
  const stored: CollectionSchema = { name, typeName: name, fields, timeField: tf, promoted: [] as PromotedColumn[] }
  return {
    name, from, root: source.root, chain, stored, output: stored,
    rowsFrom(row) {
      const rows = expand(row)
      return rows.map(r => {
        const o: StoredRow = {}
        for (const s of outs) o[s.name] = coerce(s.field, s.value(r))
        if (!timeField) o[HIDDEN_TIME] = row[srcTime]
        return o
      })
    },
  }
}

/**
 * A value as the view's typed column can hold it: a nested value of another type than its
 * promoted column (a string status, a fractional count) becomes null, never a failed write.
 */
function coerce(field: FieldSpec, v: unknown): unknown {
  if (v === undefined || v === null) return field.array ? [] : null
  if (field.array) return Array.isArray(v) ? v : []
  switch (field.type) {
    case 'string': return typeof v === 'string' ? v : null
    case 'int': return typeof v === 'number' && Number.isSafeInteger(v) ? v : null
    case 'double': return typeof v === 'number' && Number.isFinite(v) ? v : null
    case 'boolean': return typeof v === 'boolean' ? v : null
    case 'timestamp': return v instanceof Date ? v.getTime() : typeof v === 'number' && Number.isFinite(v) ? v : null
    default: return v
  }
}

const AGGREGATES: Record<string, AggregateKind> = {
  $count: 'count', $sum: 'sum', $avg: 'avg', $min: 'min', $max: 'max', $countDistinct: 'countDistinct',
  $percentile: 'percentile',
}

/** `'field'` or `'$path'` or an expression → an evaluator, as the spec writes aggregate arguments. */
function argument(raw: unknown, env: ExpressionEnv): Evaluator {
  if (typeof raw === 'string' && !raw.startsWith('$')) return compileExpression(`$${raw}`, env)
  return compileExpression(raw, env)
}

function aggregateView(
  name: string, from: string, source: NonNullable<ReturnType<SourceLookup>>, src: CollectionSchema,
  def: Record<string, unknown>,
  unnest: string[] | null, expand: (r: StoredRow) => StoredRow[], env: ExpressionEnv,
  fail: (k: string, m: string) => never,
): Omit<ViewPlan, 'refresh' | 'definition'> {
  const groupBy = def.$groupBy ?? []
  if (!Array.isArray(groupBy)) {
    return fail('$groupBy', "must be a list of field names and time buckets like { hour: '$timestamp' }")
  }
  const keys: GroupKey[] = []
  const keyFields: FieldSpec[] = []
  for (const [i, g] of groupBy.entries()) {
    if (typeof g === 'string') {
      const path = g.replace(/^\$/, '').split('.')
      const out = path.at(-1)!
      const field: FieldSpec = { name: out, ...pathField(src, out, path, unnest), required: false }
      const read = compileExpression(`$${path.join('.')}`, env)
      keys.push({ name: out, value: row => coerce(field, read(row)) })
      keyFields.push(field)
    } else if (g && typeof g === 'object' && !Array.isArray(g) && Object.keys(g).length === 1) {
      const [unit, raw] = Object.entries(g)[0]!
      if (!(BUCKET_UNITS as readonly string[]).includes(unit)) {
        fail(`$groupBy[${i}]`, `unknown time bucket ${JSON.stringify(unit)}; use ${BUCKET_UNITS.join(', ')}`)
      }
      // Buckets are cut from the source's time field: it is never null, and it is what the view's
      // partitions, WAL pruning and rebuilds are keyed on.
      const field = typeof raw === 'string' ? raw.replace(/^\$/, '') : null
      const timeName = src.fields.find(f => f.name === src.timeField && !f.hidden)?.name
      if (field !== src.timeField || !timeName) {
        fail(`$groupBy[${i}]`, timeName
          ? `time buckets are cut from ${from}'s time field: write { ${unit}: '$${timeName}' }`
          : `${from} has no visible time field to bucket by; group a view that selects its source's time ` +
            "(e.g. timestamp: '$eventTimestamp')")
      }
      const value = argument(raw, env)
      keys.push({ name: unit, bucket: unit as BucketUnit, value: row => {
        const v = value(row)
        const ms = v instanceof Date ? v.getTime()
          : typeof v === 'number' ? v
          : typeof v === 'string' ? Date.parse(v)
          : NaN
        return Number.isFinite(ms) ? bucketStart(unit as BucketUnit, ms) : null
      } })
      keyFields.push({ name: unit, type: 'timestamp', required: false, array: false })
    } else {
      fail(`$groupBy[${i}]`, "each entry is a field name or a time bucket like { hour: '$timestamp' }")
    }
  }
  if (new Set(keys.map(k => k.name)).size !== keys.length) fail('$groupBy', 'two group keys have the same output name')

  // No aggregates is allowed: the view then holds the distinct groups.
  const compute = def.$compute ?? {}
  if (typeof compute !== 'object' || compute === null || Array.isArray(compute)) {
    return fail('$compute', "must map names to aggregates, like { count: { $count: '*' } }")
  }
  if (!keys.length && !Object.keys(compute).length) {
    fail('$groupBy', 'an aggregating view needs group keys or aggregates')
  }
  const computes: AggregateSpec[] = []
  const outFields: FieldSpec[] = []
  for (const [out, raw] of Object.entries(compute as Record<string, unknown>)) {
    const where = `$compute.${out}`
    if (keys.some(k => k.name === out)) fail(where, 'the name is already a group key')
    if (!raw || typeof raw !== 'object' || Object.keys(raw).length !== 1) {
      fail(where, `must be one aggregate: ${Object.keys(AGGREGATES).join(' ')}`)
    }
    const [op, arg] = Object.entries(raw as Record<string, unknown>)[0]!
    const kind = AGGREGATES[op]
    if (!kind) return fail(where, `unknown aggregate ${op}; use ${Object.keys(AGGREGATES).join(' ')}`)
    try {
      if (kind === 'count') {
        computes.push({
          name: out, kind, ...(arg === '*' || arg === 1 || arg === true ? {} : { arg: argument(arg, env) }),
        })
      } else if (kind === 'percentile') {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[1] !== 'number' || arg[1] < 0 || arg[1] > 1) {
          fail(where, "$percentile takes ['field', p] with 0 ≤ p ≤ 1")
        }
        computes.push({ name: out, kind, arg: argument((arg as unknown[])[0], env), p: (arg as number[])[1] })
      } else {
        computes.push({ name: out, kind, arg: argument(arg, env) })
      }
    } catch (e) {
      if (e instanceof SchemaError) throw e
      fail(where, (e as Error).message)
    }
    let type: FieldSpec['type'] = 'double'
    if (kind === 'count' || kind === 'countDistinct') type = 'int'
    if (kind === 'min' || kind === 'max') {
      const path = typeof arg === 'string' ? arg.replace(/^\$/, '').split('.') : null
      type = path ? pathField(src, out, path, unnest).type : 'variant'
    }
    outFields.push({ name: out, type, required: false, array: false })
  }

  const bucketKey = keys.find(k => k.bucket)
  const timeField = bucketKey?.name ?? HIDDEN_TIME
  const storedFields: FieldSpec[] = [
    ...keyFields.map(f => (f.name === timeField ? { ...f, required: true } : f)),
    ...computes.map(c => ({ name: c.name, type: 'variant' as const, required: false, array: false })),
  ]
  if (!bucketKey) {
    storedFields.push({ name: HIDDEN_TIME, type: 'timestamp', required: true, array: false, hidden: true })
  }
  const stored: CollectionSchema = { name, typeName: name, fields: storedFields, timeField, promoted: [] }
  const output: CollectionSchema = {
    name, typeName: name, timeField,
    fields: [
      ...keyFields, ...outFields,
      ...(bucketKey
        ? []
        : [{ name: HIDDEN_TIME, type: 'timestamp' as const, required: true, array: false, hidden: true }]),
    ],
    promoted: [],
  }
  return {
    name, from, root: source.root, chain: [...source.chain, name], rowsFrom: expand, aggregate: { keys, computes },
    stored, output,
  }
}

export { HIDDEN_TIME }
