// A vendor in a 503 storm (SPEC section 4, retry): an idempotent call is tried
// retry.attempts times with backoff, the last 503 reaches the client as the
// vendor's own answer, and the log line and metrics say what happened. A POST
// without an idempotency key is sent exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { fastRetry, lineOf } from './helpers.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const NO_BREAKER = 'circuitBreaker:\n  enabled: false\n'

let storm: Upstream
let recovers: Upstream
let stormAt: number[] = []
let sluice: TestSluice

beforeAll(async () => {
  storm = await startUpstream((_req, res) => {
    stormAt.push(performance.now())
    res.writeHead(503, { 'content-type': 'text/plain', 'x-vendor': 'storm' })
    res.end('vendor is down')
  })
  // 503, 503, then 200: the third attempt succeeds.
  recovers = await startUpstream((_req, res) => {
    if (recovers.seen.length < 3) { res.statusCode = 503; res.end('down'); return }
    res.end('up again')
  })
  sluice = await startTestSluice({
    'storm.yaml': `vendor: storm\nupstream: ${storm.url}\n${fastRetry()}${NO_BREAKER}`,
    // The real backoff from the spec's example shape, scaled down: 20ms then 40ms, no jitter.
    'paced.yaml': `vendor: paced\nupstream: ${storm.url}\nretry:\n  attempts: 3\n  backoff: { initial: 20ms, max: 1s, multiplier: 2, jitter: none }\n  budget: 1000%\n${NO_BREAKER}`,
    'recovers.yaml': `vendor: recovers\nupstream: ${recovers.url}\n${fastRetry()}${NO_BREAKER}`,
    // Every default but the breaker: idempotentOnly, no generated key.
    'plain.yaml': `vendor: plain\nupstream: ${storm.url}\n${NO_BREAKER}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await storm.close()
  await recovers.close()
})

describe('a 503 storm', () => {
  it('a GET is tried retry.attempts times, and the last 503 is relayed as the vendor sent it', async () => {
    storm.seen.length = 0
    const before = await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'storm', reason: '503' }) ?? 0
    const res = await request(`${sluice.url}/storm/v1/things?page=2`, { headers: { 'x-request-id': 'storm-get-1' } })
    expect(res.statusCode).toBe(503)
    expect(res.headers['x-sluice-error']).toBeUndefined()
    expect(res.headers['x-vendor']).toBe('storm')
    expect(await res.body.text()).toBe('vendor is down')

    expect(storm.seen.map(s => `${s.method} ${s.url}`)).toEqual(Array(3).fill('GET /v1/things?page=2'))
    await eventually(() => lineOf(requestLines(sluice), 'storm-get-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'storm-get-1')).toMatchObject({ vendor: 'storm', status: 503, attempts: 3 })
    expect(lineOf(requestLines(sluice), 'storm-get-1')?.error).toBeUndefined()
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'storm', reason: '503' })).toBe(before + 2)
  })

  it('waits out the backoff between attempts (20 ms, then 40 ms)', async () => {
    stormAt = []
    const res = await request(`${sluice.url}/paced/x`)
    await res.body.dump()
    expect(res.statusCode).toBe(503)
    expect(stormAt).toHaveLength(3)
    const [a, b, c] = stormAt as [number, number, number]
    // Lower bounds only: timers never fire early, a loaded machine makes them late.
    expect(b - a).toBeGreaterThanOrEqual(19)
    expect(c - b).toBeGreaterThanOrEqual(39)
  })

  it('a call that recovers on the third attempt gets the 200, and the log says 3 attempts', async () => {
    const res = await request(`${sluice.url}/recovers/x`, { headers: { 'x-request-id': 'recovers-1' } })
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('up again')
    expect(recovers.seen).toHaveLength(3)
    await eventually(() => lineOf(requestLines(sluice), 'recovers-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'recovers-1')).toMatchObject({ status: 200, attempts: 3 })
  })

  it('a POST without an idempotency key under the default policy is sent exactly once', async () => {
    storm.seen.length = 0
    const res = await request(`${sluice.url}/plain/v1/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'plain-post-1' },
      body: '{"amount":100}',
    })
    expect(res.statusCode).toBe(503)
    expect(res.headers['x-sluice-error']).toBeUndefined()
    expect(await res.body.text()).toBe('vendor is down')
    expect(storm.seen).toHaveLength(1)
    expect(storm.seen[0]?.headers['idempotency-key']).toBeUndefined()
    await eventually(() => lineOf(requestLines(sluice), 'plain-post-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'plain-post-1')).toMatchObject({ status: 503, attempts: 1 })
  })

  it('a POST with the client\'s idempotency key is retried, with the same key and bytes each time', async () => {
    storm.seen.length = 0
    const res = await request(`${sluice.url}/storm/v1/charges`, { method: 'POST', headers: { 'idempotency-key': 'k-503' }, body: '{"amount":9}' })
    expect(res.statusCode).toBe(503)
    await res.body.dump()
    expect(storm.seen.map(s => [s.method, s.headers['idempotency-key'], s.body.toString()])).toEqual(Array(3).fill(['POST', 'k-503', '{"amount":9}']))
  })

  it('a PATCH without a key is sent once too; a PUT (idempotent) is retried', async () => {
    storm.seen.length = 0
    const patch = await request(`${sluice.url}/storm/v1/x`, { method: 'PATCH', body: 'a' })
    await patch.body.dump()
    expect(storm.seen.map(s => s.method)).toEqual(['PATCH'])
    storm.seen.length = 0
    const put = await request(`${sluice.url}/storm/v1/x`, { method: 'PUT', body: 'a' })
    await put.body.dump()
    expect(storm.seen.map(s => s.method)).toEqual(['PUT', 'PUT', 'PUT'])
  })
})
