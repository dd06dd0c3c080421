/**
 * `parquedb/iceberg`: the store's collections and row views published as Apache Iceberg v2 tables, so
 * Spark, Trino, DuckDB, PyIceberg and R2 Data Catalog read exactly the live files (docs/interop.md).
 * A separate entry point: only a store that publishes carries its code.
 */
import type { TablePublisher } from '../compactor/index.js'
import { buildPublish } from './publish_step.js'
import { syncPointers } from './pointers.js'

export interface IcebergOptions {
  /**
   * The bucket's URI as other engines address it, without a trailing slash: `s3://parquedb-data` for
   * R2's S3 API, an `https://` base (a public bucket, a custom domain), or `file:///path` for an fs
   * store. Iceberg files name each other by full URI.
   */
  location: string
}

export class IcebergConfigError extends Error {
  override name = 'IcebergConfigError'
}

/** The publisher to pass as `DB(schema, { iceberg: icebergTables({ location }) })`. */
export function icebergTables(options: IcebergOptions): TablePublisher {
  const raw = options?.location
  if (typeof raw !== 'string' || !/^([a-z][a-z0-9+.-]*:\/\/[^/]|file:\/\/\/)/i.test(raw)) {
    throw new IcebergConfigError(`iceberg.location must be the bucket's URI, like 's3://parquedb-data' or ` +
      `'https://data.example.com', got ${JSON.stringify(raw)}`)
  }
  const location = raw.replace(/\/+$/, '')
  return {
    build: (ctx, loaded) => buildPublish(ctx, loaded, location),
    sync: (ctx, manifest) => syncPointers(ctx, manifest, location),
  }
}

export { AvroError, decodeAvroFile, encodeAvroDatum, encodeAvroFile, type AvroFile, type AvroType } from './avro_file.js'
export { MANIFEST_FILE_SCHEMA, manifestEntrySchema } from './avro_schemas.js'
