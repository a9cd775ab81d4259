// The token request itself: client-credentials grant, HTTP Basic client
// authentication (RFC 6749 2.3.1), scopes and audience.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createCredentials, type VendorCredentials } from '../../src/credentials/index.js'
import { oauth2Section, recordingLogger, sendToken, tokenServer, vendorPolicy } from './helpers.js'

let server: Awaited<ReturnType<typeof tokenServer>> | undefined
let creds: VendorCredentials | undefined
const dirs: string[] = []
afterEach(async () => {
  creds?.close()
  await server?.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function decodeBasic (header: string | undefined): [string, string] {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/)
  const [id, secret] = Buffer.from(header!.slice(6), 'base64').toString().split(':')
  return [decodeURIComponent(id!.replace(/\+/g, ' ')), decodeURIComponent(secret!.replace(/\+/g, ' '))]
}

describe('oauth2 token request', () => {
  it('posts grant_type, space-joined scopes and audience, with the client in a Basic header', async () => {
    server = await tokenServer((_req, _n, res) => sendToken(res, 'tok'))
    creds = createCredentials(vendorPolicy({
      oauth2: oauth2Section(server.url, { scopes: ['read', 'write'], audience: 'https://api.acme.test' }),
    }), { logger: recordingLogger().logger, env: { CLIENT_ID: 'my client', CLIENT_SECRET: 'p@ss:w/rd+1' } })
    await creds.get()

    const seen = server.seen[0]!
    expect(seen.contentType).toBe('application/x-www-form-urlencoded')
    expect(Object.fromEntries(seen.body)).toEqual({ grant_type: 'client_credentials', scope: 'read write', audience: 'https://api.acme.test' })
    // Each part form-encoded before base64, so the ":" in the secret survives.
    expect(seen.authorization).toBe('Basic ' + Buffer.from('my+client:p%40ss%3Aw%2Frd%2B1').toString('base64'))
    expect(decodeBasic(seen.authorization)).toEqual(['my client', 'p@ss:w/rd+1'])
    // The client secret goes in the header only, never in the form.
    expect(seen.body.has('client_secret')).toBe(false)
  })

  it('sends neither scope nor audience when none is set', async () => {
    server = await tokenServer((_req, _n, res) => sendToken(res, 'tok'))
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }),
      { logger: recordingLogger().logger, env: { CLIENT_ID: 'a', CLIENT_SECRET: 'b' } })
    await creds.get()
    expect(server.seen[0]!.body.toString()).toBe('grant_type=client_credentials')
  })

  it('uses a rotated client secret file on the next token request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-client-secret-'))
    dirs.push(dir)
    const path = join(dir, 'client-secret')
    writeFileSync(path, 'secret-one\n')
    server = await tokenServer((_req, n, res) => sendToken(res, `tok-${n}`))
    const clock = { t: 0 }
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url, { clientSecret: `\${file:${path}}` }) }),
      { logger: recordingLogger().logger, env: { CLIENT_ID: 'id' }, now: () => clock.t })
    await creds.get()
    writeFileSync(path, 'secret-two\n')
    clock.t += 1000
    await creds.renew()
    expect(server.seen.map(s => decodeBasic(s.authorization)[1])).toEqual(['secret-one', 'secret-two'])
  })
})
