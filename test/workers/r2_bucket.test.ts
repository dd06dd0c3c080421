import { env } from 'cloudflare:workers'
import { describe } from 'vitest'
import type { Bucket } from '../../src/storage/index.js'
import { bucketContract } from '../helpers/bucket_contract.js'

// The engine passes an R2Bucket binding through untouched; this holds workerd's R2 to the same contract.
describe('R2 binding in workerd', () => {
  let n = 0
  bucketContract('workerd R2', async () => {
    // One binding per test file: give each test its own key space.
    const prefix = `contract-${n++}/`
    const b = env.PARQUEDB
    return {
      get: (k, o) => b.get(prefix + k, o as R2GetOptions),
      head: k => b.head(prefix + k),
      put: (k, v, o) => b.put(prefix + k, v as ArrayBuffer, o as R2PutOptions),
      delete: k => b.delete(Array.isArray(k) ? k.map(x => prefix + x) : prefix + k),
      list: async o => {
        const r = await b.list({ ...o, prefix: prefix + (o?.prefix ?? ''), ...(o?.startAfter ? { startAfter: prefix + o.startAfter } : {}) })
        return {
          objects: r.objects.map(x => ({ ...x, key: x.key.slice(prefix.length), size: x.size, etag: x.etag, uploaded: x.uploaded })),
          delimitedPrefixes: r.delimitedPrefixes.map(p => p.slice(prefix.length)),
          truncated: r.truncated,
          ...(r.truncated ? { cursor: r.cursor } : {}),
        }
      },
    } satisfies Bucket
  })
})
