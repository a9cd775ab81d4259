// Concurrent calls share one token request.
import { afterEach, describe, expect, it } from 'vitest'
import { createCredentials, type Injection, type VendorCredentials } from '../../src/credentials/index.js'
import { oauth2Section, recordingLogger, sendToken, tokenServer, vendorPolicy } from './helpers.js'

const env = { CLIENT_ID: 'client-1', CLIENT_SECRET: 'client-secret-1' }
let server: Awaited<ReturnType<typeof tokenServer>> | undefined
let creds: VendorCredentials | undefined
afterEach(async () => {
  creds?.close()
  await server?.close()
})

describe('oauth2 single flight', () => {
  it('makes exactly one token request for 50 concurrent calls, then serves the token synchronously', async () => {
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`, 3600, 50))
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: recordingLogger().logger, env })

    const results = await Promise.all(Array.from({ length: 50 }, () => creds!.get()))
    expect(server.calls).toBe(1)
    for (const inj of results) expect(inj.headers).toEqual([['authorization', 'Bearer tok-1']])
    expect(new Set(results).size).toBe(1)

    const next = creds.get()
    expect(next).not.toBeInstanceOf(Promise)
    expect(next).toBe(results[0])
    expect((next as Injection).strip.has('authorization')).toBe(true)
    expect(creds.secrets()).toEqual(expect.arrayContaining(['tok-1', 'client-secret-1']))
  })

  it('sends the token with the static headers and query, under the configured header', async () => {
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`))
    creds = createCredentials(vendorPolicy({
      headers: { 'x-tenant': 'acme-eu' },
      query: { v: '2' },
      oauth2: oauth2Section(server.url, { header: 'X-Access-Token' }),
    }), { logger: recordingLogger().logger, env })
    const inj = await creds.get()
    expect(inj.headers).toEqual([['x-tenant', 'acme-eu'], ['x-access-token', 'Bearer tok-1']])
    expect(inj.query).toBe('v=2')
    expect([...inj.strip].sort()).toEqual(['x-access-token', 'x-tenant'])
  })
})
