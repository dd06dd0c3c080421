import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { DB } from '../../src/index.js'
import { TailEvents } from '../../src/tail/index.js'

// Built at module scope, before any handler has run, as a user's db.ts does.
const byBinding = DB({ TailEvents }, { storage: { type: 'r2', binding: 'PARQUEDB' }, prefix: 'by-binding' })
const byEnvImport = DB({ TailEvents }, { storage: { type: 'r2', bucket: env.PARQUEDB }, prefix: 'by-env' })
const missing = DB({ TailEvents }, { storage: { type: 'r2', binding: 'NOT_BOUND' } })

describe('a module-scope DB in a Worker', () => {
  it('finds its R2 binding by name through cloudflare:workers, with no handler env', async () => {
    const r = await byBinding.TailEvents.bulkCreate([{ scriptName: 'w', outcome: 'ok', eventTimestamp: new Date() }])
    expect(r.segment).toMatch(/^by-binding\/wal\/TailEvents\//)
    expect(await env.PARQUEDB.head(r.segment!)).not.toBeNull()
  })

  it("takes the spec's `bucket: env.PARQUEDB` as given", async () => {
    const r = await byEnvImport.TailEvents.bulkCreate([{ scriptName: 'w', outcome: 'ok', eventTimestamp: new Date() }])
    expect((await byEnvImport.TailEvents.find()).length).toBe(1)
    expect(r.segment).toMatch(/^by-env\//)
  })

  it('names the missing binding when there is none', async () => {
    await expect(missing.TailEvents.bulkCreate([{ scriptName: 'w', outcome: 'ok', eventTimestamp: new Date() }])).rejects.toThrow(/no R2 bucket binding NOT_BOUND/)
  })
})
