#!/usr/bin/env node
// Screenshots of a running dashboard for the docs: start `npm start`, let it run a few minutes, then
//   node scripts/screenshots.mjs [url] [token] [folder]     (defaults: :8788, local-dev-token, docs/images)
// Drives Debian's chromium (scripts/ensure-chromium.sh) with playwright-core.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const [url = 'http://127.0.0.1:8788/', token = 'local-dev-token', out = 'docs/images'] = process.argv.slice(2)
mkdirSync(out, { recursive: true })
const profile = mkdtempSync(join(tmpdir(), 'parquedb-shots-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.PARQUEDB_CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 900 },
})
try {
  const page = await context.newPage()
  await page.goto(url)
  await page.fill('#token', token)
  await page.click('#signin-form button')
  await page.selectOption('#range', String(15 * 60_000))
  await page.waitForSelector('#chart-wall canvas')
  await page.waitForTimeout(500)
  await page.screenshot({ path: join(out, 'dashboard-overview.png') })
  await page.click('nav a[data-page=errors]')
  const group = page.locator('#errors-list tbody tr').first()
  await group.click()
  await page.waitForSelector('#error-detail pre')
  await page.screenshot({ path: join(out, 'dashboard-errors.png') })
  console.log(`saved ${join(out, 'dashboard-overview.png')} and ${join(out, 'dashboard-errors.png')}`)
} finally {
  await context.close()
  rmSync(profile, { recursive: true, force: true })
}
