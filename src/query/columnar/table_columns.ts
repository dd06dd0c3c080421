import type { CollectionSchema, PromotedColumn } from '../../schema/index.js'

/** What a column's cells hold in a batch: timestamps are epoch ms numbers there, Dates only in results. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'time'

/** A column the columnar path can read: a typed scalar field, or a promoted nested path under its own name. */
export interface TableColumn {
  name: string
  kind: ValueKind
  /** Set for a promoted column: WAL rows compute it from the variant as compaction does. */
  promoted?: PromotedColumn
}

const KINDS: Partial<Record<string, ValueKind>> = {
  string: 'string', int: 'number', double: 'number', boolean: 'boolean', timestamp: 'time',
}

/**
 * The columns of a table the columnar path reads by name: the visible scalar fields and the
 * promoted columns (`url`, `status`, ...). Variant and array fields are left to the row path.
 */
export function columnarColumns(schema: CollectionSchema): Map<string, TableColumn> {
  const out = new Map<string, TableColumn>()
  for (const f of schema.fields) {
    const kind = KINDS[f.type]
    if (f.hidden || f.array || !kind) continue
    out.set(f.name, { name: f.name, kind })
  }
  for (const p of schema.promoted) {
    const kind = p.type === 'string' ? 'string' : 'number'
    if (!out.has(p.name)) out.set(p.name, { name: p.name, kind, promoted: p })
  }
  return out
}
