import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { Bucket } from '../../src/storage/index.js'

/** Copies objects out of a bucket into a temp folder so DuckDB can read them as an independent check. */
export async function downloadObjects(bucket: Bucket, keys: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'parquedb-duck-'))
  const paths: string[] = []
  for (const [i, key] of keys.entries()) {
    const body = await bucket.get(key)
    if (!body) throw new Error(`missing ${key}`)
    const path = join(dir, `${i}.parquet`)
    await writeFile(path, new Uint8Array(await body.arrayBuffer()))
    paths.push(path)
  }
  return paths
}

export async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create()
  const conn = await instance.connect()
  try {
    const reader = await conn.runAndReadAll(sql)
    return reader.getRowObjectsJson() as Record<string, unknown>[]
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

export function fileList(paths: string[]): string {
  return `[${paths.map(p => `'${p.replace(/'/g, "''")}'`).join(', ')}]`
}

/**
 * A cell from either engine as plain comparable data: Dates and DuckDB timestamps as epoch ms,
 * BigInts and DuckDB decimals as numbers, fractions to 9 significant digits (the engines add in
 * different orders), other objects as JSON.
 */
export function comparable(v: unknown): unknown {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.getTime()
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'object') {
    const o = v as { micros?: bigint }
    if (typeof o.micros === 'bigint') return Number(o.micros / 1000n)
    const s = String(v)
    return Number.isNaN(Number(s)) ? JSON.stringify(v) : comparable(Number(s))
  }
  return typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(9)) : v
}

/** Rows with every cell `comparable`. */
export function comparableRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, comparable(v)])))
}
