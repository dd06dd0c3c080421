import { icebergRead } from 'icebird'
import type { Bucket } from '../../src/storage/index.js'
import { avscReadFile } from './avsc_read.js'

/** What path-based readers find for one table: the hint's metadata and the files its current snapshot lists. */
export interface ListedTable {
  version: number
  metadata: Record<string, unknown> & { snapshots: { 'snapshot-id': number; 'manifest-list': string }[] }
  /** Live entries of the current snapshot: bucket keys and record counts. */
  files: { key: string; rows: number }[]
  /** Every object the metadata names (manifest lists, manifests, live data files of every retained snapshot). */
  named: string[]
}

/**
 * Follows a table the way a path-based reader does — version hint, metadata JSON, manifest lists,
 * manifests (decoded with avsc, not the engine's own Avro code) — and reports every object named that the bucket does not hold.
 */
export async function followTable(
  bucket: Bucket, location: string, tableKey: string,
): Promise<{ table: ListedTable | null; missing: string[] }> {
  const keyOf = (uri: string) => {
    if (!uri.startsWith(`${location}/`)) throw new Error(`${uri} is not under ${location}`)
    return uri.slice(location.length + 1)
  }
  const missing: string[] = []
  const read = async (key: string) => {
    const body = await bucket.get(key)
    if (!body) missing.push(key)
    return body ? new Uint8Array(await body.arrayBuffer()) : null
  }
  const hint = await bucket.get(`${tableKey}/metadata/version-hint.text`)
  if (!hint) return { table: null, missing }
  const version = Number(await hint.text())
  const json = await read(`${tableKey}/metadata/v${version}.metadata.json`)
  if (!json) return { table: null, missing }
  const metadata = JSON.parse(new TextDecoder().decode(json)) as ListedTable['metadata']
  const named: string[] = []
  let files: ListedTable['files'] = []
  for (const snap of metadata.snapshots) {
    const listKey = keyOf(snap['manifest-list'])
    named.push(listKey)
    const list = await read(listKey)
    if (!list) continue
    const live: ListedTable['files'] = []
    for (const mf of (await avscReadFile(list)).records) {
      const key = keyOf(mf.manifest_path as string)
      named.push(key)
      const bytes = await read(key)
      if (!bytes) continue
      for (const e of (await avscReadFile(bytes)).records) {
        if (e.status === 2) continue
        const df = e.data_file as { file_path: string; record_count: number }
        live.push({ key: keyOf(df.file_path), rows: Number(df.record_count) })
      }
    }
    for (const f of live) {
      named.push(f.key)
      if (!(await bucket.head(f.key))) missing.push(f.key)
    }
    if (snap['snapshot-id'] === metadata['current-snapshot-id']) files = live
  }
  return { table: { version, metadata, files, named }, missing }
}

/** Rows through icebird, an independent Iceberg reader, with BigInts as numbers; [] for a table with no files. */
export async function icebirdRows(location: string, tableKey: string): Promise<Record<string, unknown>[]> {
  try {
    const rows = await icebergRead({ tableUrl: `${location}/${tableKey}` })
    return rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])))
  } catch (e) {
    if (/No data manifest files found/.test((e as Error).message)) return []
    throw e
  }
}

/** Whether an icebird value is a Parquet VARIANT it returned undecoded (icebird 0.3.1 does not decode VARIANT). */
export function isRawVariant(v: unknown): boolean {
  return !!v && typeof v === 'object' && !(v instanceof Date) && 'metadata' in v && 'value' in v
}
