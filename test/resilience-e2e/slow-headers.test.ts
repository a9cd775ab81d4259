// No response headers within timeouts.read: the request went out, the vendor
// sat on it. A GET is tried again; after the last attempt the client gets 504
// upstream_timeout naming the read phase. A POST without a key is not tried
// again, since the vendor may be processing it.
//
// undici checks header timeouts on a coarse clock (about half a second), so a
// 200 ms read timeout fires after 0.5–1 s; two attempts keep this under ~2 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { lineOf } from './helpers.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const POLICY = 'timeouts:\n  read: 200ms\n  total: 5s\nretry:\n  attempts: 2\n  backoff: { initial: 5ms, max: 5ms }\n  budget: 1000%\ncircuitBreaker:\n  enabled: false\n'

let silent: Upstream
/** answers only the requests after the first one */
let sleepy: Upstream
let sluice: TestSluice

beforeAll(async () => {
  silent = await startUpstream(() => { /* never answers */ })
  sleepy = await startUpstream((_req, res) => {
    if (sleepy.seen.length === 1) return
    res.end('awake')
  })
  sluice = await startTestSluice({
    'silent.yaml': `vendor: silent\nupstream: ${silent.url}\n${POLICY}`,
    'sleepy.yaml': `vendor: sleepy\nupstream: ${sleepy.url}\n${POLICY}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await silent.close()
  await sleepy.close()
})

describe('slow response headers (timeouts.read)', () => {
  it('a GET is tried retry.attempts times, then 504 upstream_timeout naming the read phase', async () => {
    silent.seen.length = 0
    const res = await request(`${sluice.url}/silent/v1/slow`, { headers: { 'x-request-id': 'silent-get' } })
    expect(res.statusCode).toBe(504)
    expect(res.headers['x-sluice-error']).toBe('upstream_timeout')
    const body = await res.body.json() as { message: string }
    expect(body.message).toMatch(/^read timeout/)
    expect(silent.seen.map(s => s.url)).toEqual(['/v1/slow', '/v1/slow'])
    await eventually(() => lineOf(requestLines(sluice), 'silent-get') !== undefined)
    expect(lineOf(requestLines(sluice), 'silent-get')).toMatchObject({ status: 504, attempts: 2, error: 'upstream_timeout' })
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'silent', reason: 'timeout' })).toBe(1)
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'silent', kind: 'timeout' })).toBe(2)
  })

  it('a GET whose second attempt answers gets that answer', async () => {
    const res = await request(`${sluice.url}/sleepy/x`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('awake')
    expect(sleepy.seen).toHaveLength(2)
  })

  it('a POST without a key is sent once: 504 after the first read timeout', async () => {
    silent.seen.length = 0
    const res = await request(`${sluice.url}/silent/v1/charges`, { method: 'POST', body: '{}', headers: { 'x-request-id': 'silent-post' } })
    expect(res.statusCode).toBe(504)
    await res.body.dump()
    expect(silent.seen).toHaveLength(1)
    await eventually(() => lineOf(requestLines(sluice), 'silent-post') !== undefined)
    expect(lineOf(requestLines(sluice), 'silent-post')).toMatchObject({ attempts: 1, error: 'upstream_timeout' })
  })
})
