// A token is renewed before it expires, in the background, on a clock the test moves.
import { afterEach, describe, expect, it } from 'vitest'
import { createCredentials, type Injection, type VendorCredentials } from '../../src/credentials/index.js'
import { refreshAfterMs, usableForMs } from '../../src/credentials/oauth2-token.js'
import { manualClock, oauth2Section, recordingLogger, sendToken, tokenServer, vendorPolicy } from './helpers.js'
import { eventually } from '../helpers/wait.js'

const env = { CLIENT_ID: 'id', CLIENT_SECRET: 'secret' }
let server: Awaited<ReturnType<typeof tokenServer>> | undefined
let creds: VendorCredentials | undefined
afterEach(async () => {
  creds?.close()
  await server?.close()
})

const header = (inj: Injection | Promise<Injection>) => (inj as Injection).headers[0]?.[1]

describe('refresh schedule', () => {
  it('renews at 80 % of the lifetime or 60 s before the end, whichever is earlier, never before half of it', () => {
    expect(refreshAfterMs(3600)).toBe(2_880_000) // 80 %
    expect(refreshAfterMs(200)).toBe(140_000) // 60 s before
    expect(refreshAfterMs(100)).toBe(50_000) // half: 60 s before would be 40 s
    expect(refreshAfterMs(10)).toBe(5000)
    expect(usableForMs(3600)).toBe(3_590_000)
    expect(usableForMs(10)).toBe(9000)
  })
})

describe('oauth2 renewal before expiry', () => {
  it('keeps serving the current token while a new one is fetched in the background', async () => {
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`)) // no expires_in: 3600 s
    const clock = manualClock(0)
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: recordingLogger().logger, env, now: clock.now })
    expect(header(await creds.get())).toBe('Bearer tok-1')

    clock.t = 2_880_000 - 1
    expect(header(creds.get())).toBe('Bearer tok-1')
    expect(server.calls).toBe(1)

    clock.t = 2_880_000
    const during = creds.get()
    expect(during).not.toBeInstanceOf(Promise) // the call does not wait for the renewal
    expect(header(during)).toBe('Bearer tok-1')
    const c = creds
    await eventually(() => header(c.get()) === 'Bearer tok-2')
    expect(server.calls).toBe(2)
    expect(c.secrets()).toEqual(expect.arrayContaining(['tok-1', 'tok-2']))
  })

  it('makes a call wait for a new token once the old one is expired', async () => {
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`, 100))
    const clock = manualClock(0)
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: recordingLogger().logger, env, now: clock.now })
    await creds.get()
    clock.t = usableForMs(100)
    const pending = creds.get()
    expect(pending).toBeInstanceOf(Promise)
    expect(header(await pending)).toBe('Bearer tok-2')
  })
})
