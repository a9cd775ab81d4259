// timeouts.total bounds the whole call, attempts and waits included, whatever
// the upstream is doing when it passes (SPEC section 4: "never past
// timeouts.total"), and a call cut by it counts as a timeout, for the breaker
// (failOn: timeout) and for sluice_upstream_errors_total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { startBlackhole, type Blackhole } from '../helpers/blackhole.js'
import { lineOf, startRawUpstream, type RawUpstream } from './helpers.js'
import { eventually, sleep } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let hole: Blackhole
let silent: Upstream
let halfBody: RawUpstream
let sluice: TestSluice

beforeAll(async () => {
  hole = await startBlackhole()
  silent = await startUpstream(() => { /* never answers */ })
  // A 503 asking for a retry in 600 ms, whose body never ends.
  halfBody = await startRawUpstream((socket) => {
    socket.write('HTTP/1.1 503 Service Unavailable\r\nretry-after: 0.6\r\ncontent-length: 100\r\n\r\nhalf')
  })
  sluice = await startTestSluice({
    // connect stays at its 5s default: the total deadline must cut the dial.
    'hole.yaml': `vendor: hole\nupstream: http://127.0.0.1:${hole.port}\ntimeouts:\n  read: 800ms\n  total: 800ms\nretry:\n  attempts: 1\n`,
    // read == total: the deadline fires first, and the call is still a timeout.
    'silent.yaml': `vendor: silent\nupstream: ${silent.url}\ntimeouts:\n  read: 500ms\n  total: 500ms\nretry:\n  attempts: 1\ncircuitBreaker:\n  failureRate: 50%\n  minimumRequests: 5\n  openFor: 10s\n`,
    'halfbody.yaml': `vendor: halfbody\nupstream: ${halfBody.url}\ntimeouts:\n  read: 1s\n  total: 1s\nretry:\n  attempts: 3\n  respectRetryAfter: true\n  backoff: { initial: 1ms, max: 1ms }\n  budget: 1000%\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  hole.close()
  await silent.close()
  await halfBody.close()
})

describe('the total deadline', () => {
  it('cuts a connection attempt that never completes: 504 at timeouts.total, not at timeouts.connect', async () => {
    const started = performance.now()
    const res = await request(`${sluice.url}/hole/x`, { headers: { 'x-request-id': 'hole-1' } })
    const took = performance.now() - started
    expect(res.statusCode).toBe(504)
    expect(res.headers['x-sluice-error']).toBe('upstream_timeout')
    expect((await res.body.json() as { message: string }).message).toMatch(/^total deadline/)
    // at the deadline (kept to within 100 ms), never before it; far before the 5 s connect timeout
    expect(took).toBeGreaterThanOrEqual(790)
    expect(took).toBeLessThan(4500)
    await eventually(() => lineOf(requestLines(sluice), 'hole-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'hole-1')).toMatchObject({ status: 504, attempts: 1, error: 'upstream_timeout' })
  })

  it('a call cut by the deadline counts as a timeout: five of them open the breaker', async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => request(`${sluice.url}/silent/x`)))
    for (const r of all) {
      expect(r.statusCode).toBe(504)
      await r.body.dump()
    }
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'silent', kind: 'timeout' })).toBe(5)
    const end = Date.now() + 2000
    while (await metricValue(sluice.adminUrl, 'sluice_circuit_state', { vendor: 'silent' }) !== 2 && Date.now() < end) await sleep(20)
    const refused = await request(`${sluice.url}/silent/x`)
    expect(refused.headers['x-sluice-error']).toBe('circuit_open')
    await refused.body.dump()
    expect(silent.seen).toHaveLength(5)
  })

  it('a 503 set aside for a retry whose body never ends: 504 at the deadline, no retry counted', async () => {
    const started = performance.now()
    const res = await request(`${sluice.url}/halfbody/x`, { headers: { 'x-request-id': 'half-1' } })
    const took = performance.now() - started
    expect(res.statusCode).toBe(504)
    expect(res.headers['x-sluice-error']).toBe('upstream_timeout')
    // the deadline ended it (not the body's read timeout), and no retry was sent
    expect((await res.body.json() as { message: string }).message).toMatch(/^total deadline/)
    expect(took).toBeGreaterThanOrEqual(990)
    expect(halfBody.seen).toHaveLength(1)
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'halfbody', reason: '503' })).toBeUndefined()
    await eventually(() => lineOf(requestLines(sluice), 'half-1') !== undefined)
    expect(lineOf(requestLines(sluice), 'half-1')).toMatchObject({ status: 504, attempts: 1 })
  })
})
