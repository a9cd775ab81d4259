// routes.allow, and the methods sluice never forwards (SPEC sections 2 and 3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res) => res.end(`saw ${req.method} ${req.url}`))
  sluice = await startTestSluice({
    'gh.yaml': `vendor: gh
upstream: ${up.url}
routes:
  allow:
    - methods: [GET]
      paths: ["/repos/*/*/issues", "/user"]
    - methods: [POST]
      paths: ["/repos/**"]
`,
    'open.yaml': `vendor: open\nupstream: ${up.url}\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('routes.allow', () => {
  it('forwards what a rule allows', async () => {
    expect((await request(`${sluice.url}/gh/repos/a/b/issues?page=2`)).statusCode).toBe(200)
    expect((await request(`${sluice.url}/gh/user`)).statusCode).toBe(200)
    expect((await request(`${sluice.url}/gh/repos/a/b/c/d`, { method: 'POST', body: 'x' })).statusCode).toBe(200)
  })

  it('refuses a path no rule allows with 403 not_allowed, forwarding nothing', async () => {
    const before = up.seen.length
    for (const path of ['/gh/repos/a/b/pulls', '/gh/repos/a/issues', '/gh/admin', '/gh/user/keys']) {
      const res = await request(`${sluice.url}${path}`)
      expect(res.statusCode, path).toBe(403)
      expect(res.headers['x-sluice-error']).toBe('not_allowed')
      expect((await res.body.json() as { vendor: string }).vendor).toBe('gh')
    }
    expect(up.seen.length).toBe(before)
  })

  it('refuses a method no rule allows for that path', async () => {
    const res = await request(`${sluice.url}/gh/user`, { method: 'DELETE' })
    expect(res.statusCode).toBe(403)
    await res.body.dump()
  })

  it('allows everything under the prefix when the policy has no allow list', async () => {
    const res = await request(`${sluice.url}/open/anything/at/all`, { method: 'PATCH', body: 'x' })
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('saw PATCH /anything/at/all')
  })
})

describe('methods never forwarded', () => {
  it('answers TRACE 403 not_allowed', async () => {
    const before = up.seen.length
    const res = await rawRequest(sluice.url, 'TRACE /open/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    expect(res.status).toBe(403)
    expect(res.headers['x-sluice-error']).toBe('not_allowed')
    expect(up.seen.length).toBe(before)
  })

  it('answers CONNECT 403 not_allowed and tunnels nothing', async () => {
    const res = await rawRequest(sluice.url, `CONNECT 127.0.0.1:${up.port} HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\n\r\n`)
    expect(res.status).toBe(403)
    expect(res.headers['x-sluice-error']).toBe('not_allowed')
    expect(JSON.parse(res.body)).toMatchObject({ error: 'not_allowed' })
  })
})
