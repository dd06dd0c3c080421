import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/worker.js'

const withToken = { ...env, PARQUEDB_ADMIN_TOKEN: 's3cret' } as never

function call(path: string, body: BodyInit | undefined, method = 'POST') {
  const init: RequestInit = { method, headers: { authorization: 'Bearer s3cret' } }
  if (body !== undefined) init.body = body
  return worker.fetch(new Request(`https://w${path}`, init) as Parameters<typeof worker.fetch>[0], withToken)
}

describe('the deployed worker checks admin bodies (inside workerd)', () => {
  it('refuses bodies of the wrong shape with 400 and the reason, and recompacts nothing', async () => {
    const cases: [string, string, string][] = [
      ['/admin/recompact', '[1,2]', 'the body must be a JSON object like {"from"'],
      ['/admin/recompact', '{"form":"2024-01-15"}', 'unknown field "form"; allowed fields: from, to, collections'],
      ['/admin/recompact', '{"from":"2024-02-30"}', 'from is not a date: "2024-02-30"'],
      ['/admin/sql', '{"query":"SELECT 1","limit":1}', 'unknown field "limit"; allowed fields: query'],
      ['/admin/compact', '{"now":true}', 'unknown field "now"; it takes no fields'],
    ]
    for (const [path, body, error] of cases) {
      const res = await call(path, body)
      expect(res.status, body).toBe(400)
      expect(((await res.json()) as { error: string }).error, body).toContain(error)
    }
    expect((await env.PARQUEDB.list({ prefix: '_manifest' })).objects).toEqual([])
  })

  it('stops reading a streamed body past 64 KiB and answers 413', async () => {
    let pulled = 0
    const chunk = new Uint8Array(1 << 20).fill(0x20)
    const stream = new ReadableStream<Uint8Array>({
      pull(c) { if (pulled === 200) c.close(); else { pulled++; c.enqueue(chunk) } },
    }, { highWaterMark: 0 })
    const res = await call('/admin/recompact', stream)
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: string }).error).toContain('admin bodies are at most 65536 bytes (64 KiB)')
    expect(pulled).toBeLessThanOrEqual(3)
  })

  it('a wrong method is a 405 with Allow', async () => {
    const res = await call('/admin/sql', undefined, 'GET')
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
  })
})
