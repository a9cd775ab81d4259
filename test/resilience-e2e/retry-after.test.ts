// The vendor's Retry-After on a 503 or 429 (SPEC section 4, respectRetryAfter):
// the retry waits at least that long when the wait fits in timeouts.total; a
// Retry-After past the deadline ends the retries and the vendor's answer is
// relayed at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { fastRetry, lineOf } from './helpers.js'
import { eventually } from '../helpers/wait.js'

const NO_BREAKER = 'circuitBreaker:\n  enabled: false\n'

let seenAt: number[] = []
let status = 503
let retryAfter = '1'
let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  // First attempt: `status` with Retry-After; then 200.
  up = await startUpstream((_req, res) => {
    seenAt.push(performance.now())
    if (seenAt.length === 1) {
      res.writeHead(status, { 'retry-after': retryAfter, 'content-type': 'text/plain' })
      res.end('slow down')
      return
    }
    res.end('ok')
  })
  sluice = await startTestSluice({
    'polite.yaml': `vendor: polite\nupstream: ${up.url}\n${fastRetry('  respectRetryAfter: true\n')}${NO_BREAKER}`,
    // Buckets learn the same Retry-After as a pause; the retry's own token must still be had after it.
    'limited.yaml': `vendor: limited\nupstream: ${up.url}\nrateLimit:\n  buckets:\n    - name: burst\n      capacity: 5\n      refill: 5/s\n      onLimit: reject\n${fastRetry('  respectRetryAfter: true\n')}${NO_BREAKER}`,
    'rude.yaml': `vendor: rude\nupstream: ${up.url}\n${fastRetry('  respectRetryAfter: false\n')}${NO_BREAKER}`,
    'short.yaml': `vendor: short\nupstream: ${up.url}\ntimeouts:\n  read: 1s\n  total: 2s\n${fastRetry('  respectRetryAfter: true\n')}${NO_BREAKER}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

function reset (s: number, ra: string): void {
  seenAt = []
  up.seen.length = 0
  status = s
  retryAfter = ra
}

describe('Retry-After from the vendor', () => {
  it.each([503, 429])('a %i with Retry-After: 1 makes the retry wait at least a second', async (s) => {
    reset(s, '1')
    const res = await request(`${sluice.url}/polite/x`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('ok')
    expect(seenAt).toHaveLength(2)
    expect((seenAt[1] as number) - (seenAt[0] as number)).toBeGreaterThanOrEqual(990)
  })

  it('with rate-limit buckets, the pause learnt from the same header does not refuse the retry', async () => {
    reset(503, '1')
    const res = await request(`${sluice.url}/limited/x`)
    expect(res.headers['x-sluice-error']).toBeUndefined()
    expect(res.statusCode).toBe(200)
    await res.body.dump()
    expect(seenAt).toHaveLength(2)
    expect((seenAt[1] as number) - (seenAt[0] as number)).toBeGreaterThanOrEqual(990)
  })

  it('is not waited for when respectRetryAfter is false (the backoff alone)', async () => {
    reset(503, '1')
    const res = await request(`${sluice.url}/rude/x`)
    await res.body.dump()
    expect(res.statusCode).toBe(200)
    expect(seenAt).toHaveLength(2)
    expect((seenAt[1] as number) - (seenAt[0] as number)).toBeLessThan(500)
  })

  it('a Retry-After past timeouts.total stops the retries: the vendor\'s 503 is relayed at once', async () => {
    reset(503, '5')
    const started = performance.now()
    const res = await request(`${sluice.url}/short/x`, { headers: { 'x-request-id': 'short-1' } })
    expect(res.statusCode).toBe(503)
    expect(res.headers['x-sluice-error']).toBeUndefined()
    expect(res.headers['retry-after']).toBe('5')
    expect(await res.body.text()).toBe('slow down')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(up.seen).toHaveLength(1)
    await eventually(() => lineOf(requestLines(sluice), 'short-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'short-1')).toMatchObject({ status: 503, attempts: 1 })
  })

  it('an HTTP-date Retry-After past the deadline is relayed at once too', async () => {
    reset(429, new Date(Date.now() + 60_000).toUTCString())
    const res = await request(`${sluice.url}/short/x`)
    expect(res.statusCode).toBe(429)
    await res.body.dump()
    expect(up.seen).toHaveLength(1)
  })
})
