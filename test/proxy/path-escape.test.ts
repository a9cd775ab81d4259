// The forwarded path never leaves the vendor's base path (SPEC section 2): every
// spelling of a dot-segment or backslash is answered 400 and never forwarded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res) => res.end(`saw ${req.url}`))
  sluice = await startTestSluice({
    'v.yaml': `vendor: v\nupstream: ${up.url}/api/v2\n`,
    // an allow-list whose glob would match `..;` segments if the guard let them through
    'w.yaml': `vendor: w\nupstream: ${up.url}/api\nroutes:\n  allow:\n    - paths: ["/v1/**"]\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

const get = (path: string) => rawRequest(sluice.url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)

const ESCAPES = [
  '/v/../admin',
  '/v/..',
  '/v/x/../../admin',
  '/v/%2e%2e/admin',
  '/v/%2E%2E/admin',
  '/v/.%2e/admin',
  '/v/%2e./admin',
  '/v/..%2fadmin',
  '/v/x%2f..%2f..%2fadmin',
  '/v/%252e%252e/admin',
  '/v/..%5cadmin',
  '/v/%5c..%5cadmin',
  '/v/..\\admin',
  '/v/x\\y',
  '/v/./x',
  '/v/a%00b',
  // dot-segments once a Tomcat/Jetty/Spring vendor strips `;parameters`
  '/v/..;/admin',
  '/v/x/..;x/..;/admin',
  '/v/..;jsessionid=1/admin',
  '/v/%2e%2e;/admin',
  '/v/%2E%2e;X/admin',
  '/v/..%3b/admin',
  '/v/..%3B/admin',
  '/v/%252e%252e%253b/admin',
  '/v/.;/admin',
  '/v/.%3Bx/admin',
]

describe('path escapes', () => {
  for (const path of ESCAPES) {
    it(`refuses ${path} with 400 bad_request and forwards nothing`, async () => {
      const before = up.seen.length
      const res = await get(path)
      expect(res.status).toBe(400)
      expect(res.headers['x-sluice-error']).toBe('bad_request')
      expect(JSON.parse(res.body)).toMatchObject({ error: 'bad_request', vendor: 'v' })
      expect(up.seen.length).toBe(before)
    })
  }

  it('refuses /v1/..;/..;/secret under an allow-list that matches /v1/**', async () => {
    const before = up.seen.length
    const res = await get('/w/v1/..;/..;/secret')
    expect(res.status).toBe(400)
    expect(res.headers['x-sluice-error']).toBe('bad_request')
    expect(up.seen.length).toBe(before)
    // the same allow-list still lets an ordinary path through
    expect((await get('/w/v1/charges;v=2')).body).toBe('saw /api/v1/charges;v=2')
  })

  it('passes an encoded slash that forms no dot-segment (GitLab-style ids)', async () => {
    const res = await get('/v/projects/group%2Fproject/issues')
    expect(res.status).toBe(200)
    expect(res.body).toBe('saw /api/v2/projects/group%2Fproject/issues')
  })

  it('passes dots inside names', async () => {
    const res = await get('/v/files/report..final.v2.pdf?a=..')
    expect(res.status).toBe(200)
    expect(res.body).toBe('saw /api/v2/files/report..final.v2.pdf?a=..')
  })
})
