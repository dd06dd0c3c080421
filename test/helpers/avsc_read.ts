import avro from 'avsc'

/** A container file as avsc — an independent Avro implementation — reads it. */
export interface AvscFile {
  metadata: Record<string, string>
  /** The writer's schema, as the header carries it. */
  schema: unknown
  records: Record<string, unknown>[]
}

export async function avscReadFile(bytes: Uint8Array): Promise<AvscFile> {
  const decoder = new avro.streams.BlockDecoder()
  const records: Record<string, unknown>[] = []
  let metadata: Record<string, string> = {}
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]))
    })
    decoder.on('data', (r: Record<string, unknown>) => records.push(r))
    decoder.on('end', () => resolve())
    decoder.on('error', reject)
  })
  decoder.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  await done
  return { metadata, schema: JSON.parse(metadata['avro.schema'] ?? 'null'), records }
}
