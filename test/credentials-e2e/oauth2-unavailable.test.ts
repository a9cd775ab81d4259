// A token that cannot be had (SPEC section 3, 4): the call is answered 503
// credential_unavailable and is never sent to the vendor without a token.
import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startOAuthCase, tokenNumber, type OAuthCase } from './oauth.js'
import { sendToken } from '../credentials/helpers.js'

let c: OAuthCase | undefined
afterEach(async () => { await c?.stop() })

async function call (): Promise<{ status: number, code: unknown, body: Record<string, unknown> }> {
  const res = await request(`${c!.sluice.url}/acme/v1/me`, { method: 'POST', body: '{"a":1}' })
  return { status: res.statusCode, code: res.headers['x-sluice-error'], body: await res.body.json() as Record<string, unknown> }
}

describe('a token server that is down', () => {
  it('answers 503 credential_unavailable and never calls the upstream', async () => {
    c = await startOAuthCase((_req, res) => { res.end('ok') })
    await c.tokens.close() // nothing listens on its port any more
    const first = await call()
    expect(first).toMatchObject({ status: 503, code: 'credential_unavailable', body: { error: 'credential_unavailable', vendor: 'acme' } })
    // Within the backoff a call is refused at once, without another token request.
    const second = await call()
    expect(second.status).toBe(503)
    expect(c.up.seen).toHaveLength(0)
    const lines = c.sluice.logs.filter(l => l.msg === 'request')
    expect(lines.map(l => l.error)).toEqual(['credential_unavailable', 'credential_unavailable'])
    expect(lines.map(l => l.attempts)).toEqual([0, 0])
  })
})

describe('a token server that answers an error', () => {
  it('answers 503 credential_unavailable; once the server recovers, calls go through', async () => {
    c = await startOAuthCase((_req, res) => { res.end('ok') })
    c.tokens.setResponder((_req, _n, res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"invalid_client","error_description":"bad secret e2e-client-secret-plum-9902"}')
    })
    expect((await call()).code).toBe('credential_unavailable')
    expect(c.up.seen).toHaveLength(0)
    expect(c.sluice.logs.some(l => l.msg === 'oauth2 token request failed' && l.reason === 'token endpoint answered 401 invalid_client')).toBe(true)

    c.tokens.setResponder((_req, n, res) => sendToken(res, tokenNumber(n)))
    await new Promise(resolve => setTimeout(resolve, 1100)) // the first backoff is 1 s
    const ok = await request(`${c.sluice.url}/acme/v1/me`)
    expect(ok.statusCode).toBe(200)
    await ok.body.dump()
    expect(c.up.seen).toHaveLength(1)
    expect(c.up.seen[0]!.headers.authorization).toBe(`Bearer ${tokenNumber(c.tokens.calls)}`)
    expect(c.sluice.logText()).not.toContain('e2e-client-secret-plum-9902')
  })
})
