import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalStack, startLocalStack } from '../../scripts/local-stack.mjs'
import { pickRequest } from '../../scripts/traffic.mjs'
import { rng } from '../helpers/events.js'

/**
 * The dashboard in a real browser (Debian's chromium, installed by scripts/ensure-chromium.sh) against
 * the local stack of `npm start`: real demo producers whose failures reach the tail worker, the tail
 * worker bundled as deployed. It signs in, sees charts drawn from what it sent, finds a known error,
 * runs SQL and follows new events live. Screenshots go to test/.output/dashboard/.
 */
const CHROMIUM = process.env.PARQUEDB_CHROMIUM ?? '/usr/bin/chromium'
const TOKEN = 'browser-test-token'
const SHOTS = join(import.meta.dirname, '../.output/dashboard')
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

let stack: LocalStack
let context: BrowserContext
let page: Page
let profile: string
const sent: Record<string, number> = {}
let exceptions = 0

async function send(script: string, path: string, init: RequestInit & { cf?: Record<string, unknown> } = {}) {
  sent[script] = (sent[script] ?? 0) + 1
  if (/^\/(throw|db)\b/.test(path)) exceptions++
  return stack.send(script, path, init)
}

/** Waits until the store holds `n` events (the tail is delivered after the response). */
async function stored(n: number) {
  for (let i = 0; i < 200; i++) {
    const { rows } = await stack.admin<{ rows: { n: number }[] }>('/admin/sql', { query: 'SELECT COUNT(*) AS n FROM TailEvents' })
    if (rows[0]!.n >= n) return
    await new Promise(r => setTimeout(r, 100))
  }
  throw new Error(`the store never reached ${n} events`)
}

const total = () => Object.values(sent).reduce((a, b) => a + b, 0)
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: run scripts/ensure-chromium.sh (npm test runs it first)`)
  }
  mkdirSync(SHOTS, { recursive: true })
  stack = await startLocalStack({ token: TOKEN, persist: false })
  const rand = rng(7)
  for (let i = 0; i < 90; i++) {
    const r = pickRequest(rand)
    await send(r.script, r.path, { method: r.method, cf: r.cf })
  }
  // The known errors: an uncaught TypeError and a DatabaseError, each with its stack.
  expect(await send('api-worker', '/throw?id=41')).toBe(500)
  expect(await send('shop-worker', '/db')).toBe(500)
  await stored(total())
  await stack.compact() // some rows in Parquet, the ones below in the WAL: the pages read both
  for (let i = 0; i < 20; i++) {
    const r = pickRequest(rand)
    await send(r.script, r.path, { method: r.method, cf: r.cf })
  }
  await stored(total())
  profile = mkdtempSync(join(tmpdir(), 'parquedb-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 },
  })
  page = await context.newPage()
  page.setDefaultTimeout(20_000)
}, 240_000)

afterAll(async () => {
  await context?.close()
  await stack?.dispose()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

describe('the dashboard in a browser', () => {
  it('refuses a wrong token, then signs in and draws the overview charts from the events sent', async () => {
    await page.goto(stack.url)
    await page.fill('#token', 'not-the-token')
    await page.click('#signin-form button')
    await expect.poll(() => page.textContent('#signin-error')).toContain('not the admin token')
    await page.fill('#token', TOKEN)
    await page.click('#signin-form button')
    await page.waitForSelector('#chart-requests canvas')
    await page.waitForSelector('#chart-wall canvas')
    // The summary table counts exactly what was sent to each script.
    for (const [script, n] of Object.entries(sent)) {
      const row = page.locator('#overview-summary tr', { hasText: script })
      await expect.poll(() => row.locator('td').nth(1).textContent()).toBe(String(n))
    }
    await shot('overview')
    // The charts really drew: their canvases hold coloured pixels of the series.
    for (const id of ['chart-requests', 'chart-errors', 'chart-wall']) {
      const coloured = () => page.$eval(`#${id} canvas`, c => {
        const canvas = c as HTMLCanvasElement
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
        let n = 0
        for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && Math.abs(data[i]! - data[i + 2]!) > 60) n++
        return n
      })
      await expect.poll(coloured, { message: id }).toBeGreaterThan(50)
    }
  })

  it('finds the known errors in Errors, with the stack and the requests behind them', async () => {
    await page.click('nav a[data-page=errors]')
    // The runtime names a subclass of Error "Error"; its stack's first line names the class.
    const group = page.locator('#errors-list tr', { hasText: 'connection refused: orders-db' })
    await expect.poll(() => group.textContent()).toMatch(/^Error/)
    await expect.poll(() => page.locator('#errors-list tr', { hasText: 'TypeError' }).textContent())
      .toContain("Cannot read properties of undefined (reading 'id')")
    await group.click()
    await expect.poll(() => page.textContent('#error-detail pre.stack')).toMatch(/^DatabaseError: connection refused: orders-db\n\s+at /)
    await expect.poll(() => page.textContent('#error-detail table')).toContain('shop-worker.example.com/db')
    await shot('errors')
  })

  it('runs a SQL query and shows its rows and scan stats', async () => {
    await page.click('nav a[data-page=query]')
    await page.fill('#sql-form textarea', 'SELECT scriptName, COUNT(*) AS n FROM TailEvents GROUP BY scriptName ORDER BY scriptName')
    await page.click('#sql-form button')
    await page.waitForSelector('#query-result tbody tr')
    const rows = await page.$$eval('#query-result tbody tr', trs => trs.map(tr => [...tr.children].map(td => td.textContent)))
    expect(rows).toEqual(Object.keys(sent).sort().map(s => [s, String(sent[s])]))
    expect(await page.textContent('#query-stats')).toMatch(/\d+ files, \d+ row groups, \d+ WAL segments/)
    await shot('query')
  })

  it('searches events and follows new ones live, straight from the WAL', async () => {
    await page.click('nav a[data-page=events]')
    await page.selectOption('#events-form [name=outcome]', 'exception')
    await page.click('#events-form button')
    const outcomes = () => page.$$eval('#events-list tbody tr td:nth-child(3)', tds => tds.map(td => td.textContent))
    // The page first lists every event; the search then narrows it to the exceptions, newest first.
    await expect.poll(async () => [...new Set(await outcomes())]).toEqual(['exception'])
    expect((await outcomes()).length).toBe(exceptions)
    await page.check('#events-form [name=live]')
    await send('auth-worker', '/throw?id=live-9931')
    await expect.poll(() => page.textContent('#events-list'), { timeout: 20_000 }).toContain('live-9931')
    await shot('events')
    await page.uncheck('#events-form [name=live]')
  })

  it('shows the engine: collections, views, the last pass and its R2 operations', async () => {
    await page.click('nav a[data-page=engine]')
    await expect.poll(() => page.textContent('#engine-collections')).toContain('TailEvents')
    await expect.poll(() => page.textContent('#engine-views')).toContain('WorkerErrors')
    await expect.poll(() => page.textContent('#engine-passes tbody')).toMatch(/\d/)
    await shot('engine')
  })
})
