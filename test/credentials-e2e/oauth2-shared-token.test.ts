// OAuth2 client credentials through a real sluice (SPEC section 4): sluice
// fetches the token itself and shares it, so 20 concurrent calls cost one
// token request, and every call reaches the vendor with that token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { CLIENT_ID, CLIENT_SECRET, startOAuthCase, tokenNumber, type OAuthCase } from './oauth.js'
import { expectNone, exposedText } from './leaks.js'

let c: OAuthCase

beforeAll(async () => {
  // A slow token server, so the 20 calls really wait on the same request.
  c = await startOAuthCase((_req, res) => { res.end('{"ok":true}') }, { tokenDelayMs: 100 })
})
afterAll(async () => { await c.stop() })

describe('an oauth2 token shared by concurrent calls', () => {
  it('20 concurrent calls make one token request, and all carry the token', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const res = await request(`${c.sluice.url}/acme/v1/items/${i}`, { headers: { authorization: 'Bearer app-held-token' } })
      return { status: res.statusCode, text: await res.body.text(), headers: JSON.stringify(res.headers) }
    }))
    expect(answers.map(a => a.status)).toEqual(Array(20).fill(200))
    expect(c.tokens.calls).toBe(1)
    expect(c.up.seen).toHaveLength(20)
    for (const seen of c.up.seen) expect(seen.headers.authorization).toBe(`Bearer ${tokenNumber(1)}`)
    expectNone(answers.map(a => a.text + a.headers).join('\n'), { token: tokenNumber(1) })
  })

  it('asked the token server with the client credentials and scopes of the policy', () => {
    const seen = c.tokens.seen[0]!
    expect(seen.authorization).toBe('Basic ' + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'))
    expect(seen.body.get('grant_type')).toBe('client_credentials')
    expect(seen.body.get('scope')).toBe('read write')
  })

  it('later calls reuse the token without asking again', async () => {
    const res = await request(`${c.sluice.url}/acme/v1/again`)
    await res.body.dump()
    expect(c.tokens.calls).toBe(1)
    expect(c.up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${tokenNumber(1)}`)
  })

  it('never shows the token or the client secret in the log, /policies or /metrics', async () => {
    const text = await exposedText(c.sluice)
    expect(text).toContain('oauth2 token obtained')
    expectNone(text, { token: tokenNumber(1), 'client secret': CLIENT_SECRET, 'client id': CLIENT_ID })
  })
})
