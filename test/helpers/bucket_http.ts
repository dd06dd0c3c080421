import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Bucket } from '../../src/storage/index.js'

/**
 * Serves a bucket over HTTP (GET with Range, HEAD), as R2's public or S3 endpoint would, so readers that
 * fetch by URL — icebird — read the store as other engines do. Counts the requests for missing objects.
 */
export async function serveBucket(bucket: Bucket): Promise<{ url: string; missing: string[]; close(): Promise<void> }> {
  const missing: string[] = []
  const server: Server = createServer((req, res) => {
    void (async () => {
      const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1))
      const body = await bucket.get(key)
      if (!body) {
        missing.push(key)
        res.writeHead(404).end()
        return
      }
      const bytes = new Uint8Array(await body.arrayBuffer())
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': bytes.length }).end()
      } else if (range) {
        const start = Number(range[1])
        const end = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1
        res.writeHead(206, {
          'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${bytes.length}`,
        }).end(Buffer.from(bytes.subarray(start, end + 1)))
      } else {
        res.writeHead(200, { 'content-length': bytes.length }).end(Buffer.from(bytes))
      }
    })().catch(e => { res.writeHead(500).end(String(e)) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    missing,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  }
}
