// GET /status in a real browser (headless Chromium from Debian's `chromium`
// package, driven by playwright-core): what a person sees changes by itself
// when a vendor's breaker opens (a real sluice against a failing upstream)
// and when a bucket drains. A screenshot is kept in test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

// Debian's chromium; SLUICE_TEST_CHROMIUM names another Chromium-based browser (CI on Ubuntu: Chrome)
const CHROMIUM = process.env.SLUICE_TEST_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = new URL('../../test-results/', import.meta.url).pathname

let failing: Upstream
let fine: Upstream
let sluice: TestSluice
let browser: BrowserContext
let page: Page
let profile: string

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does), or set SLUICE_TEST_CHROMIUM`)
  failing = await startUpstream((_req, res) => { res.statusCode = 503; res.end('down') })
  fine = await startUpstream()
  sluice = await startTestSluice({
    'flaky.yaml': `vendor: flaky\nupstream: ${failing.url}\nretry:\n  attempts: 1\ncircuitBreaker:\n  failureRate: 50%\n  minimumRequests: 4\n  window: 60s\n  openFor: 1h\n`,
    'paced.yaml': `vendor: paced\nupstream: ${fine.url}\nrateLimit:\n  buckets:\n    - name: burst\n      capacity: 5\n      refill: 1/min\n      onLimit: reject\n`,
  })
  profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'))
  // a fresh profile each run: nothing cached from an earlier page
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1000, height: 560 },
  })
  page = await browser.newPage()
  await page.goto(`${sluice.adminUrl}/status`)
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await sluice?.stop()
  await failing?.close()
  await fine?.close()
  if (profile !== undefined) await rm(profile, { recursive: true, force: true })
})

interface PageGlobals { document: { querySelector (selector: string): { textContent: string | null } | null } }

/** The text a person reads at `selector`, once it matches `want` (the page redraws every second). */
async function seen (selector: string, want: RegExp, ms = 15_000): Promise<string> {
  await page.waitForFunction(([sel, src]) => {
    // runs in the page: the DOM's document, which this file's (node) types do not know
    const e = (globalThis as unknown as PageGlobals).document.querySelector(sel as string)
    return e !== null && new RegExp(src as string).test(e.textContent ?? '')
  }, [selector, want.source] as const, { timeout: ms, polling: 100 })
  return await page.locator(selector).innerText()
}

async function call (vendor: string): Promise<number> {
  const res = await request(`${sluice.url}/${vendor}/v1/x`)
  await res.body.text()
  return res.statusCode
}

describe('the status page', () => {
  it('shows each vendor with a closed breaker and full buckets at first', async () => {
    expect(await seen('[data-vendor="flaky"] .breaker', /^closed$/)).toMatch(/closed/i)
    expect(await seen('[data-vendor="paced"] [data-bucket="burst"] .level', /^5 \/ 5$/)).toBe('5 / 5')
    expect(await seen('[data-vendor="paced"] .credentials', /available/)).toBe('available')
    expect(await page.locator('#reload').innerText()).toBe('no reload since start')
  })

  it('shows the breaker open, without a reload, once the vendor keeps failing', async () => {
    for (let i = 0; i < 4; i++) expect(await call('flaky')).toBe(503)
    expect(await seen('[data-vendor="flaky"] .breaker', /^open$/)).toMatch(/open/i)
    expect(await seen('[data-vendor="flaky"] .errors', /^100 % of \d+$/)).toMatch(/^100 %/)
  })

  it('shows a bucket draining as calls take its tokens', async () => {
    for (let i = 0; i < 3; i++) expect(await call('paced')).toBe(200)
    expect(await seen('[data-vendor="paced"] [data-bucket="burst"] .level', /^2(\.\d)? \/ 5$/)).toMatch(/^2(\.\d)? \/ 5$/)
    expect(await seen('[data-vendor="paced"] .latency', /^\d.* ms \/ .* ms$/)).toContain('ms')
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true })
  })

  it('serves the same data as JSON at /status.json', async () => {
    const s = await (await request(`${sluice.adminUrl}/status.json`)).body.json() as Record<string, unknown>
    expect(s.jobs).toEqual({ pending: 0, dead: 0 })
    expect(s.lastReload).toBeNull()
    const vendors = s.vendors as Array<Record<string, unknown>>
    expect(vendors.find(v => v.name === 'flaky')).toMatchObject({ breaker: 'open', errorShare: 1, credentials: { available: true, unavailable: [] } })
    const paced = vendors.find(v => v.name === 'paced') as { buckets: Array<{ bucket: string, capacity: number, tokens: number, keys: number }> }
    expect(paced.buckets).toHaveLength(1)
    expect(paced.buckets[0]).toMatchObject({ bucket: 'burst', capacity: 5, keys: null })
    expect(paced.buckets[0]?.tokens).toBeGreaterThanOrEqual(2)
    expect(paced.buckets[0]?.tokens).toBeLessThan(3)
  })
})
