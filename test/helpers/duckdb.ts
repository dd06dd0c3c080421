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
