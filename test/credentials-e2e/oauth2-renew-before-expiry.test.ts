// An OAuth2 token is renewed before it expires (SPEC section 4): past its
// refresh point a call still goes out at once with the current token while
// the next one is fetched in the background; later calls carry the new one.
// No call waits on, or fails for, the renewal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { sendToken } from '../credentials/helpers.js'
import { startOAuthCase, tokenNumber, type OAuthCase } from './oauth.js'
import { eventually } from '../helpers/wait.js'

let c: OAuthCase

beforeAll(async () => {
  c = await startOAuthCase((_req, res) => { res.end('ok') })
  // Two-second tokens: refreshed from 1 s on, not used past 1.8 s.
  c.tokens.setResponder((_req, n, res) => sendToken(res, tokenNumber(n), 4))
})
afterAll(async () => { await c.stop() })

async function call (): Promise<string | undefined> {
  const res = await request(`${c.sluice.url}/acme/v1/me`)
  expect(res.statusCode).toBe(200)
  await res.body.dump()
  return c.up.seen.at(-1)!.headers.authorization
}

describe('a token past its refresh point', () => {
  it('keeps serving while a new one is fetched in the background, then the new one is used', async () => {
    expect(await call()).toBe(`Bearer ${tokenNumber(1)}`)
    await new Promise(resolve => setTimeout(resolve, 2200))
    // Past the refresh point: this call does not wait for the token request.
    expect(await call()).toBe(`Bearer ${tokenNumber(1)}`)
    await eventually(() => c.sluice.logs.filter(l => l.msg === 'oauth2 token obtained').length === 2)
    expect(c.tokens.calls).toBe(2)
    expect(await call()).toBe(`Bearer ${tokenNumber(2)}`)
    expect(c.tokens.calls).toBe(2)
  })
})
