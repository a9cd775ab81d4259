// The vendor reads the request and drops the connection before any response
// byte (SPEC section 2: "never sent twice unless it carries an idempotency
// key"). The request may have been acted on, so only a call the vendor can
// tell apart from a new one is tried again: an idempotent method, or a POST
// with an idempotency key (the client's, or one sluice generated), and then
// every attempt carries the same key and the same bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { RESET, fastRetry, lineOf, startRawUpstream, type RawUpstream } from './helpers.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const NO_BREAKER = 'circuitBreaker:\n  enabled: false\n'

let up: RawUpstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startRawUpstream(RESET)
  sluice = await startTestSluice({
    'reset.yaml': `vendor: reset\nupstream: ${up.url}\n${fastRetry()}${NO_BREAKER}`,
    'keyed.yaml': `vendor: keyed\nupstream: ${up.url}\nidempotency:\n  generate: [POST]\n${fastRetry()}${NO_BREAKER}`,
    'anything.yaml': `vendor: anything\nupstream: ${up.url}\n${fastRetry('  idempotentOnly: false\n')}${NO_BREAKER}`,
    'custom.yaml': `vendor: custom\nupstream: ${up.url}\nidempotency:\n  header: X-Dedupe-Token\n${fastRetry()}${NO_BREAKER}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function call (path: string, opts: { method?: string, headers?: Record<string, string>, body?: Buffer | string } = {}): Promise<{ status: number, error: unknown }> {
  const res = await request(`${sluice.url}${path}`, { method: (opts.method ?? 'GET') as 'GET', headers: opts.headers ?? {}, body: opts.body ?? null })
  const text = await res.body.text()
  return { status: res.statusCode, error: res.headers['x-sluice-error'] ?? (text.startsWith('{') ? JSON.parse(text).error : undefined) }
}

describe('a reset before response headers', () => {
  it('a GET is retried retry.attempts times, then answered 502 upstream_unreachable', async () => {
    up.seen.length = 0
    const before = await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'reset', kind: 'reset' }) ?? 0
    const r = await call('/reset/v1/items', { headers: { 'x-request-id': 'reset-get' } })
    expect(r).toEqual({ status: 502, error: 'upstream_unreachable' })
    expect(up.seen.map(s => `${s.method} ${s.url}`)).toEqual(Array(3).fill('GET /v1/items'))
    await eventually(() => lineOf(requestLines(sluice), 'reset-get') !== undefined)
    expect(lineOf(requestLines(sluice), 'reset-get')).toMatchObject({ status: 502, attempts: 3, error: 'upstream_unreachable' })
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'reset', kind: 'reset' })).toBe(before + 3)
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'reset', reason: 'reset' })).toBeGreaterThanOrEqual(2)
  })

  it('a POST without an idempotency key is sent exactly once: 502 upstream_unreachable', async () => {
    up.seen.length = 0
    const r = await call('/reset/v1/charges', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'reset-post' }, body: '{"amount":1}' })
    expect(r).toEqual({ status: 502, error: 'upstream_unreachable' })
    expect(up.seen).toHaveLength(1)
    expect(up.seen[0]?.body.toString()).toBe('{"amount":1}')
    await eventually(() => lineOf(requestLines(sluice), 'reset-post') !== undefined)
    expect(lineOf(requestLines(sluice), 'reset-post')).toMatchObject({ attempts: 1, error: 'upstream_unreachable' })
  })

  it('a PATCH without a key is sent exactly once too', async () => {
    up.seen.length = 0
    const r = await call('/reset/v1/charges/1', { method: 'PATCH', body: 'x=1' })
    expect(r.status).toBe(502)
    expect(up.seen).toHaveLength(1)
  })

  it('a POST with the client\'s Idempotency-Key is retried, every attempt with that key and the same bytes', async () => {
    up.seen.length = 0
    const body = randomBytes(3000)
    const r = await call('/reset/v1/charges', { method: 'POST', headers: { 'idempotency-key': 'client-key-42', 'content-type': 'application/octet-stream' }, body })
    expect(r).toEqual({ status: 502, error: 'upstream_unreachable' })
    expect(up.seen).toHaveLength(3)
    for (const s of up.seen) {
      expect(s.method).toBe('POST')
      expect(s.headers['idempotency-key']).toBe('client-key-42')
      expect(s.headers['content-length']).toBe('3000')
      expect(s.body.equals(body)).toBe(true)
    }
  })

  it('a POST to a vendor with idempotency.generate: [POST] gets one generated key, the same on every attempt', async () => {
    up.seen.length = 0
    const r = await call('/keyed/v1/charges', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":7}' })
    expect(r.status).toBe(502)
    expect(up.seen).toHaveLength(3)
    const key = up.seen[0]?.headers['idempotency-key']
    expect(key).toMatch(/^[0-9a-f-]{36}$/)
    expect(up.seen.map(s => s.headers['idempotency-key'])).toEqual([key, key, key])
    expect(up.seen.map(s => s.body.toString())).toEqual(Array(3).fill('{"amount":7}'))

    // A second call gets a key of its own.
    up.seen.length = 0
    await call('/keyed/v1/charges', { method: 'POST', body: '{"amount":8}' })
    expect(up.seen[0]?.headers['idempotency-key']).not.toBe(key)
  })

  it('a client key wins over generation: sent as is, never a second key', async () => {
    up.seen.length = 0
    await call('/keyed/v1/charges', { method: 'POST', headers: { 'Idempotency-Key': 'mine' }, body: 'a' })
    expect(up.seen.map(s => s.headers['idempotency-key'])).toEqual(['mine', 'mine', 'mine'])
  })

  it('the policy\'s own key header counts (idempotency.header), the default one does not', async () => {
    up.seen.length = 0
    await call('/custom/v1/charges', { method: 'POST', headers: { 'x-dedupe-token': 't-1' }, body: 'a' })
    expect(up.seen.map(s => s.headers['x-dedupe-token'])).toEqual(['t-1', 't-1', 't-1'])
    up.seen.length = 0
    await call('/custom/v1/charges', { method: 'POST', headers: { 'idempotency-key': 'not-the-header' }, body: 'a' })
    expect(up.seen).toHaveLength(1)
  })

  it('an empty key is no key: sent once', async () => {
    up.seen.length = 0
    await call('/reset/v1/charges', { method: 'POST', headers: { 'idempotency-key': '' }, body: 'a' })
    expect(up.seen).toHaveLength(1)
  })

  it('retry.idempotentOnly: false lets a POST without a key be sent again: the policy\'s explicit choice', async () => {
    up.seen.length = 0
    const r = await call('/anything/v1/charges', { method: 'POST', body: '{"amount":3}' })
    expect(r.status).toBe(502)
    expect(up.seen.map(s => s.body.toString())).toEqual(Array(3).fill('{"amount":3}'))
    expect(up.seen[0]?.headers['idempotency-key']).toBeUndefined()
  })
})
