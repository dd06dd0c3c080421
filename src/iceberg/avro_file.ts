import avro from 'avsc'

/**
 * Avro object container files through `avsc`: Iceberg's manifests and manifest lists. The schema is
 * written to the header as given, so the Iceberg field ids on it reach readers.
 */
export async function encodeAvroFile(
  schema: object, records: readonly unknown[], metadata: Record<string, string>,
): Promise<Uint8Array> {
  const meta: Record<string, Buffer> = {}
  for (const [k, v] of Object.entries(metadata)) meta[k] = Buffer.from(v, 'utf8')
  // avsc takes header metadata (its typings leave the option out).
  const options = { codec: 'null', metadata: meta } as object
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, options)
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (c: Buffer) => chunks.push(c))
    encoder.on('end', () => resolve())
    encoder.on('error', reject)
    encoder.on('typeError', (e: Error) => {
      reject(new Error(`Iceberg metadata does not fit its Avro schema: ${e.message}`))
    })
  })
  for (const r of records) encoder.write(r)
  encoder.end()
  await done
  return new Uint8Array(Buffer.concat(chunks))
}

export interface AvroFile {
  /** The header's metadata, as text. */
  metadata: Record<string, string>
  /** The writer's schema, from the header. */
  schema: unknown
  records: Record<string, unknown>[]
}

export async function decodeAvroFile(bytes: Uint8Array): Promise<AvroFile> {
  const decoder = new avro.streams.BlockDecoder()
  const records: Record<string, unknown>[] = []
  let metadata: Record<string, string> = {}
  let schema: unknown = null
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]))
      schema = JSON.parse(metadata['avro.schema'] ?? 'null')
    })
    decoder.on('data', (r: Record<string, unknown>) => records.push(r))
    decoder.on('end', () => resolve())
    decoder.on('error', reject)
  })
  decoder.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  await done
  return { metadata, schema, records }
}
