/**
 * `parquedb/iceberg`: the store's collections and row views published as Apache Iceberg v2 tables, so
 * Spark, Trino, DuckDB, PyIceberg and R2 Data Catalog read exactly the live files (docs/interop.md).
 * A separate entry point: only a store that publishes carries its code.
 */
import type { TablePublisher } from '../compactor/index.js'
import { buildPublish } from './publish_step.js'
import { syncCatalogs, syncPointers } from './pointers.js'
import type { RestCatalogOptions } from './rest_catalog.js'

export interface IcebergOptions {
  /**
   * The bucket's URI as other engines address it, without a trailing slash: `s3://parquedb-data` for
   * R2's S3 API, an `https://` base (a public bucket, a custom domain), or `file:///path` for an fs
   * store. Iceberg files name each other by full URI.
   */
  location: string
  /**
   * An Iceberg REST catalog (R2 Data Catalog) to commit every snapshot through, so catalog readers
   * (R2 SQL, Trino, Spark's REST catalog) follow the tables; each commit is conditional on the
   * catalog's current snapshot, so another writer is detected, not overwritten.
   */
  catalog?: RestCatalogOptions
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
  const catalog = options.catalog
  if (catalog && (typeof catalog.uri !== 'string' || !/^https?:\/\//.test(catalog.uri) || !catalog.warehouse ||
    typeof catalog.token !== 'string' || !catalog.token)) {
    throw new IcebergConfigError('iceberg.catalog needs uri (https://…), warehouse and token (from a secret)')
  }
  const synced = new Map<string, number>()
  return {
    build: (ctx, loaded) => buildPublish(ctx, loaded, location),
    sync: async (ctx, manifest) => {
      await syncPointers(ctx, manifest, location)
      if (catalog) await syncCatalogs(ctx, manifest, location, catalog, synced)
    },
  }
}

export { CatalogError, type RestCatalogOptions } from './rest_catalog.js'
export {
  AvroError, decodeAvroFile, encodeAvroDatum, encodeAvroFile, type AvroFile, type AvroType,
} from './avro_file.js'
export { MANIFEST_FILE_SCHEMA, manifestEntrySchema } from './avro_schemas.js'
