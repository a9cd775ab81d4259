// check(): refuses at once, without fetching or waiting, exactly when get()
// would refuse at once, so a call is refused before it takes a rate-limit
// token; it never keeps a call from the fetch that could succeed.
import { afterEach, describe, expect, it } from 'vitest'
import { createCredentials, type VendorCredentials } from '../../src/credentials/index.js'
import { manualClock, oauth2Section, recordingLogger, sendToken, tokenServer, vendorPolicy } from './helpers.js'

let server: Awaited<ReturnType<typeof tokenServer>> | undefined
let creds: VendorCredentials | undefined
afterEach(async () => {
  creds?.close()
  await server?.close()
})

describe('check', () => {
  it('throws credential_unavailable while a referenced secret is missing, and passes once it is set', () => {
    const env: Record<string, string> = {}
    creds = createCredentials(vendorPolicy({ headers: { 'X-Key': '${env:CHECK_KEY}' } }), { logger: recordingLogger().logger, env })
    expect(() => creds!.check()).toThrow(expect.objectContaining({ code: 'credential_unavailable' }))
    creds.close()
    creds = createCredentials(vendorPolicy({ headers: { 'X-Key': '${env:CHECK_KEY}' } }), { logger: recordingLogger().logger, env: { CHECK_KEY: 'k' } })
    expect(() => creds!.check()).not.toThrow()
  })

  it('with oauth2: passes before the first fetch, throws within the backoff after a failure, passes when the retry is due', async () => {
    let fail = true
    server = await tokenServer((_req, _n, res) => {
      if (fail) { res.writeHead(500); res.end('{}'); return }
      sendToken(res, 'tok-1', 3600)
    })
    const clock = manualClock(0)
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), {
      logger: recordingLogger().logger, env: { CLIENT_ID: 'id', CLIENT_SECRET: 'secret' }, now: clock.now,
    })
    expect(() => creds!.check()).not.toThrow()
    await expect(creds.get()).rejects.toMatchObject({ code: 'credential_unavailable' })
    expect(() => creds!.check()).toThrow(expect.objectContaining({ code: 'credential_unavailable' }))
    expect(server.calls).toBe(1)
    clock.t += 60_000
    expect(() => creds!.check()).not.toThrow()
    expect(server.calls).toBe(1)
    fail = false
    await expect(creds.get()).resolves.toBeDefined()
    expect(() => creds!.check()).not.toThrow()
  })
})
