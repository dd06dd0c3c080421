import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { afterAll, describe } from 'vitest'
import { FsBucket } from '../../src/storage/fs_bucket.js'
import { MemoryBucket, type Bucket } from '../../src/storage/index.js'
import { bucketContract } from '../helpers/bucket_contract.js'

describe('bucket adapters behave like R2', () => {
  bucketContract('memory', async () => new MemoryBucket())
  bucketContract('fs', async () => new FsBucket(await mkdtemp(join(tmpdir(), 'parquedb-fs-'))))

  // Miniflare's R2 simulator is the reference the adapters are held to.
  const mfs: Miniflare[] = []
  afterAll(async () => { for (const mf of mfs) await mf.dispose() })
  bucketContract('miniflare R2', async () => {
    const mf = new Miniflare({ cf: false, modules: true, script: 'export default {}', r2Buckets: ['B'] })
    mfs.push(mf)
    return (await mf.getR2Bucket('B')) as unknown as Bucket
  })
})
