// Headers both ways (SPEC section 2): hop-by-hop and Connection-named headers
// dropped, the upstream's own Host, no X-Forwarded-*, x-request-id everywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    res.setHeader('x-request-id', 'vendor-req-9')
    res.setHeader('x-vendor', 'yes')
    res.setHeader('connection', 'keep-alive, x-upstream-hop')
    res.setHeader('x-upstream-hop', 'drop me')
    res.setHeader('keep-alive', 'timeout=5')
    res.end('ok')
  })
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('request headers', () => {
  it('drops hop-by-hop, Connection-named, proxy and forwarding headers; sets the upstream Host', async () => {
    const res = await rawRequest(sluice.url, [
      'GET /v/h HTTP/1.1',
      'Host: localhost:8080',
      'Connection: close, X-Secret-Hop',
      'X-Secret-Hop: internal',
      'Keep-Alive: timeout=5',
      'TE: trailers',
      'Upgrade: h2c',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'X-Forwarded-For: 10.1.2.3',
      'X-Forwarded-Host: internal.svc',
      'X-Forwarded-Proto: http',
      'Forwarded: for=10.1.2.3',
      'X-Real-IP: 10.1.2.3',
      'X-Custom: kept',
      'Accept: application/json',
      '', '',
    ].join('\r\n'))
    expect(res.status).toBe(200)
    const seen = up.seen.at(-1)!.headers
    expect(seen.host).toBe(`127.0.0.1:${up.port}`)
    expect(seen['x-custom']).toBe('kept')
    expect(seen.accept).toBe('application/json')
    for (const h of ['x-secret-hop', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-real-ip']) {
      expect(seen[h], h).toBeUndefined()
    }
  })
})

describe('response headers', () => {
  it('drops the upstream hop-by-hop headers and passes the rest', async () => {
    const res = await request(`${sluice.url}/v/r`)
    expect(res.headers['x-vendor']).toBe('yes')
    expect(res.headers['x-upstream-hop']).toBeUndefined()
    expect(res.headers['keep-alive']).not.toBe('timeout=5')
    await res.body.dump()
  })

  it('keeps the client x-request-id, sends it upstream, and keeps the vendor\'s as x-upstream-request-id', async () => {
    const res = await request(`${sluice.url}/v/id`, { headers: { 'x-request-id': 'client-abc-1' } })
    expect(res.headers['x-request-id']).toBe('client-abc-1')
    expect(res.headers['x-upstream-request-id']).toBe('vendor-req-9')
    expect(up.seen.at(-1)!.headers['x-request-id']).toBe('client-abc-1')
    await res.body.dump()
  })

  it('makes a new x-request-id when the client sent none (or an unsafe one)', async () => {
    const a = await request(`${sluice.url}/v/id`)
    const b = await request(`${sluice.url}/v/id`, { headers: { 'x-request-id': 'bad id with spaces\tand tabs' } })
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id'])
    await a.body.dump()
    await b.body.dump()
  })

  it('puts x-request-id on sluice\'s own answers too', async () => {
    const res = await request(`${sluice.url}/nowhere`, { headers: { 'x-request-id': 'mine-1' } })
    expect(res.headers['x-request-id']).toBe('mine-1')
    await res.body.dump()
  })
})
