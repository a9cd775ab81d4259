// Host must be one valid host[:port]: userinfo, a path, spaces or a second
// Host header are 400 bad_request and nothing is forwarded. A rewritten
// Location never carries a client-supplied host: a prefix-routed call points
// back at sluice's own listener address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    if (req.url?.startsWith('/redirect')) {
      res.writeHead(302, { location: `${up.url}/moved` })
      res.end()
      return
    }
    res.end('ok')
  })
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\nroutes:\n  hosts: [api.vendor.test]\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

const bad: Array<[string, string]> = [
  ['userinfo', 'Host: 127.0.0.1:8080@evil.test\r\n'],
  ['userinfo before a vendor host', 'Host: evil.test@api.vendor.test\r\n'],
  ['a path', 'Host: localhost/evil\r\n'],
  ['a space', 'Host: local host\r\n'],
  ['a port that is no number', 'Host: localhost:80x\r\n'],
  ['an empty value', 'Host: \r\n'],
  ['two Host headers', 'Host: localhost\r\nHost: api.vendor.test\r\n'],
  ['no Host in HTTP/1.1', ''],
]

describe('the Host header', () => {
  for (const [what, host] of bad) {
    it(`refuses ${what} with 400 bad_request, forwarding nothing`, async () => {
      const seen = up.seen.length
      const res = await rawRequest(sluice.url, `GET /v/x HTTP/1.1\r\n${host}Connection: close\r\n\r\n`)
      expect(res.status).toBe(400)
      expect(res.headers['x-sluice-error']).toBe('bad_request')
      expect(JSON.parse(res.body)).toMatchObject({ error: 'bad_request' })
      expect(up.seen.length).toBe(seen)
    })
  }

  it('takes a plain host[:port], and HTTP/1.0 without one', async () => {
    for (const head of ['GET /v/x HTTP/1.1\r\nHost: localhost:8080\r\n', 'GET /v/x HTTP/1.1\r\nHost: [::1]:8080\r\n', 'GET /x HTTP/1.1\r\nHost: API.vendor.test:80\r\n', 'GET /v/x HTTP/1.0\r\n']) {
      const res = await rawRequest(sluice.url, `${head}Connection: close\r\n\r\n`)
      expect(res.status, head).toBe(200)
    }
  })
})

describe('a rewritten Location', () => {
  it('points a prefix-routed call at sluice\'s listener, never at the Host the client sent', async () => {
    const res = await request(`${sluice.url}/v/redirect`, { headers: { host: 'evil.test:8080' } })
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe(`${sluice.url}/v/moved`)
    await res.body.dump()
  })

  it('keeps the policy\'s host name for a host-routed call', async () => {
    const res = await request(`${sluice.url}/redirect`, { headers: { host: 'api.vendor.test:8080' } })
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe('http://api.vendor.test:8080/moved')
    await res.body.dump()
  })
})
