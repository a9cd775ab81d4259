// Routing (SPEC section 2): by prefix, by Host header (port ignored), by
// absolute-form target; base paths; no open proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let api: Upstream
let based: Upstream
let sluice: TestSluice

beforeAll(async () => {
  api = await startUpstream((req, res) => res.end(`api saw ${req.method} ${req.url}`))
  based = await startUpstream((req, res) => res.end(`based saw ${req.url}`))
  sluice = await startTestSluice({
    'stripe.yaml': `vendor: stripe\nupstream: ${api.url}\nroutes:\n  hosts: [api.stripe.com]\n`,
    'openai.yaml': `vendor: openai\nupstream: ${based.url}/v1\n`,
    'deep.yaml': `vendor: deep\nupstream: ${based.url}/base/\nroutes:\n  prefix: /team/deep\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await api.close()
  await based.close()
})

describe('prefix routing', () => {
  it('forwards /<vendor>/<rest>?<query> to <upstream>/<rest>?<query>', async () => {
    const res = await request(`${sluice.url}/stripe/v1/charges?limit=3&starting_after=ch_1`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('api saw GET /v1/charges?limit=3&starting_after=ch_1')
  })

  it('keeps the upstream base path', async () => {
    const res = await request(`${sluice.url}/openai/chat/completions`, { method: 'POST', body: '{}' })
    expect(await res.body.text()).toBe('based saw /v1/chat/completions')
  })

  it('sends the bare prefix to the base path itself', async () => {
    expect(await (await request(`${sluice.url}/openai`)).body.text()).toBe('based saw /v1')
    expect(await (await request(`${sluice.url}/openai?x=1`)).body.text()).toBe('based saw /v1?x=1')
    expect(await (await request(`${sluice.url}/stripe`)).body.text()).toBe('api saw GET /')
  })

  it('routes a multi-segment prefix, and the base path without its trailing slash', async () => {
    expect(await (await request(`${sluice.url}/team/deep/x/y`)).body.text()).toBe('based saw /base/x/y')
  })

  it('matches whole segments only', async () => {
    const res = await request(`${sluice.url}/stripeX/v1/charges`)
    expect(res.statusCode).toBe(404)
    expect(res.headers['x-sluice-error']).toBe('no_route')
    await res.body.dump()
  })
})

describe('host routing', () => {
  it('routes by the Host header whatever its port, path unchanged', async () => {
    const res = await request(`${sluice.url}/v1/customers`, { headers: { host: 'api.stripe.com:8080' } })
    expect(await res.body.text()).toBe('api saw GET /v1/customers')
    const upper = await request(`${sluice.url}/v1/x`, { headers: { host: 'API.Stripe.COM' } })
    expect(await upper.body.text()).toBe('api saw GET /v1/x')
  })

  it('routes an absolute-form target (HTTP_PROXY clients)', async () => {
    const res = await rawRequest(sluice.url, 'GET http://api.stripe.com/v1/balance?x=1 HTTP/1.1\r\nHost: api.stripe.com\r\nConnection: close\r\n\r\n')
    expect(res.status).toBe(200)
    expect(res.body).toBe('api saw GET /v1/balance?x=1')
  })

  it('is not an open proxy: an absolute target naming an unknown host is 404', async () => {
    const before = api.seen.length + based.seen.length
    const res = await rawRequest(sluice.url, 'GET http://evil.example.com/steal HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n')
    expect(res.status).toBe(404)
    expect(res.headers['x-sluice-error']).toBe('no_route')
    expect(api.seen.length + based.seen.length).toBe(before)
  })

  it('answers 404 no_route with the JSON error body for an unknown prefix', async () => {
    const res = await request(`${sluice.url}/nope/v1`, { headers: { 'x-request-id': 'req-123' } })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(await res.body.json()).toEqual({ error: 'no_route', message: expect.any(String), vendor: null, requestId: 'req-123' })
  })
})
