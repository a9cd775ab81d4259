// Every Proxy-* request header is for the proxy on the way (sluice), never for
// the vendor: not only the three well-known ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream()
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('Proxy-* request headers', () => {
  it('drops every one of them, whatever its name and case', async () => {
    const res = await rawRequest(sluice.url, [
      'GET /v/p HTTP/1.1',
      'Host: localhost',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'Proxy-Token: internal-token',
      'proxy-client-ip: 10.0.0.7',
      'PROXY-Session: s-1',
      'X-Proxy-Kept: yes',
      'Connection: close',
      '', '',
    ].join('\r\n'))
    expect(res.status).toBe(200)
    const seen = up.seen.at(-1)
    expect(seen?.url).toBe('/p')
    const names = (seen?.rawHeaders ?? []).filter((_, i) => i % 2 === 0).map(n => n.toLowerCase())
    expect(names.filter(n => n.startsWith('proxy-'))).toEqual([])
    expect(names).toContain('x-proxy-kept')
  })
})
