// timeouts.read runs from the request's send to the final response headers:
// interim 1xx answers (103 Early Hints) do not restart it. A vendor that keeps
// sending hints and never answers is cut after timeouts.read with a 504 that
// names the read phase, long before timeouts.total would have ended the call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { lineOf } from './helpers.js'
import { eventually } from '../helpers/wait.js'

let hinting: Upstream
let hintsSent = 0
const timers = new Set<NodeJS.Timeout>()
let sluice: TestSluice

beforeAll(async () => {
  hinting = await startUpstream((_req, res) => {
    // A hint at once, then every 100 ms; never a final answer.
    const hint = (): void => {
      if (res.destroyed) return
      hintsSent++
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
    }
    hint()
    const timer = setInterval(hint, 100)
    timers.add(timer)
    res.on('close', () => { clearInterval(timer); timers.delete(timer) })
  })
  sluice = await startTestSluice({
    'hints.yaml': `vendor: hints\nupstream: ${hinting.url}\ntimeouts:\n  read: 300ms\n  total: 15s\nretry:\n  attempts: 1\ncircuitBreaker:\n  enabled: false\n`,
  })
})
afterAll(async () => {
  for (const t of timers) clearInterval(t)
  await sluice.stop()
  await hinting.close()
})

describe('1xx interim answers and timeouts.read', () => {
  it('a vendor that sends only 103 Early Hints gets the read timeout, not the total deadline', async () => {
    const res = await request(`${sluice.url}/hints/v1/slow`, { headers: { 'x-request-id': 'hints-1' } })
    expect(res.statusCode).toBe(504)
    expect(res.headers['x-sluice-error']).toBe('upstream_timeout')
    const body = await res.body.json() as { message: string }
    expect(body.message).toMatch(/^read timeout/)
    expect(hintsSent).toBeGreaterThan(0)
    await eventually(() => lineOf(requestLines(sluice), 'hints-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'hints-1')).toMatchObject({ status: 504, error: 'upstream_timeout', cause: 'UND_ERR_HEADERS_TIMEOUT', attempts: 1 })
  }, 30_000)
})
