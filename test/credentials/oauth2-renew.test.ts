// renew() after a vendor 401: one token request however many calls ask.
import { afterEach, describe, expect, it } from 'vitest'
import { createCredentials, type Injection, type VendorCredentials } from '../../src/credentials/index.js'
import { manualClock, oauth2Section, recordingLogger, sendToken, tokenServer, vendorPolicy } from './helpers.js'

const env = { CLIENT_ID: 'id', CLIENT_SECRET: 'secret' }
let server: Awaited<ReturnType<typeof tokenServer>> | undefined
let creds: VendorCredentials | undefined
afterEach(async () => {
  creds?.close()
  await server?.close()
})

describe('oauth2 renew()', () => {
  it('fetches one new token for 10 concurrent renewals', async () => {
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`, 3600, 30))
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: recordingLogger().logger, env })
    const before = await creds.get()
    expect(before.headers).toEqual([['authorization', 'Bearer tok-1']])

    const renewed = await Promise.all(Array.from({ length: 10 }, () => creds!.renew()))
    expect(renewed).toEqual(Array(10).fill(true))
    expect(server.calls).toBe(2)
    expect((creds.get() as Injection).headers).toEqual([['authorization', 'Bearer tok-2']])
  })

  it('does not fetch again for a call that was sent with a token already replaced', async () => {
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`))
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: recordingLogger().logger, env })
    const used = await creds.get()
    // Two calls sent with tok-1 both get a 401; the first renews, the second just replays.
    await expect(creds.renew(used)).resolves.toBe(true)
    await expect(creds.renew(used)).resolves.toBe(true)
    expect(server.calls).toBe(2)
    const now = creds.get() as Injection
    await expect(creds.renew(now)).resolves.toBe(true)
    expect(server.calls).toBe(3)
  })

  it('rejects with credential_unavailable, without a request, while the token endpoint is backing off', async () => {
    server = await tokenServer((_req, _n, res) => { res.writeHead(503).end() })
    const clock = manualClock(0)
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: recordingLogger().logger, env, now: clock.now })
    await expect(creds.renew()).rejects.toMatchObject({ code: 'credential_unavailable' })
    await expect(creds.renew()).rejects.toMatchObject({ code: 'credential_unavailable' })
    expect(server.calls).toBe(1)
  })
})
