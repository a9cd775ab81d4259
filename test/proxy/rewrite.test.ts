// Location and Link headers that point at the vendor's upstream come back
// pointing through sluice (SPEC section 2); redirects are passed, not followed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    const base = `http://127.0.0.1:${up.port}/api`
    if (req.url?.startsWith('/api/redirect')) {
      res.writeHead(302, { location: `${base}/moved?x=1` })
      res.end()
      return
    }
    res.setHeader('link', `<${base}/items?page=2>; rel="next", <${base}/items?page=9>; rel="last", <https://docs.example.com/api>; rel="help", <http://127.0.0.1:${up.port}/other>; rel="outside"`)
    res.setHeader('location', `http://127.0.0.1:${up.port}/apiary/x`)
    res.end('[]')
  })
  sluice = await startTestSluice({ 'gh.yaml': `vendor: gh\nupstream: http://127.0.0.1:${up.port}/api\nroutes:\n  hosts: [api.github.test]\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('Location and Link rewriting', () => {
  // A prefix-routed call is pointed at sluice's own listener address, whatever Host the client sent.
  it('rewrites the vendor\'s URLs to the prefix through sluice, leaving foreign ones', async () => {
    const res = await request(`${sluice.url}/gh/items`, { headers: { host: 'localhost:7777' } })
    expect(res.headers.link).toBe(`<${sluice.url}/gh/items?page=2>; rel="next", <${sluice.url}/gh/items?page=9>; rel="last", <https://docs.example.com/api>; rel="help", ` +
      `<http://127.0.0.1:${up.port}/other>; rel="outside"`)
    // "/apiary" merely starts with the base path's letters: not the vendor's base URL
    expect(res.headers.location).toBe(`http://127.0.0.1:${up.port}/apiary/x`)
    await res.body.dump()
  })

  it('passes a redirect back rewritten, and does not follow it', async () => {
    const before = up.seen.length
    const res = await request(`${sluice.url}/gh/redirect`, { headers: { host: 'localhost:7777' } })
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe(`${sluice.url}/gh/moved?x=1`)
    expect(up.seen.length).toBe(before + 1)
    await res.body.dump()
  })

  // The Host is validated first, and its name is one of the policy's routes.hosts.
  it('rewrites to the client\'s Host, without the prefix, for host-routed calls', async () => {
    const res = await request(`${sluice.url}/api/items`, { headers: { host: 'api.github.test:8080' } })
    expect(res.headers.link).toContain('<http://api.github.test:8080/items?page=2>; rel="next"')
    await res.body.dump()
  })
})
