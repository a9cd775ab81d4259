// A failing token endpoint: waiting calls get credential_unavailable, nothing
// the endpoint sent (nor the client secret) reaches an error or a log line,
// and the endpoint is retried with a backoff, never in a loop.
import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { createCredentials, type VendorCredentials } from '../../src/credentials/index.js'
import { SluiceError } from '../../src/errors.js'
import { manualClock, oauth2Section, recordingLogger, sendToken, tokenServer, vendorPolicy } from './helpers.js'

const CLIENT_SECRET = 'client-secret-do-not-log'
const env = { CLIENT_ID: 'id', CLIENT_SECRET }
const LEAK = 'tok-leaked-in-error-body'
let server: Awaited<ReturnType<typeof tokenServer>> | undefined
let creds: VendorCredentials | undefined
afterEach(async () => {
  creds?.close()
  await server?.close()
})

async function failure (p: unknown): Promise<SluiceError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(SluiceError)
    return err as SluiceError
  }
  throw new Error('expected a failure')
}

function expectNoLeak (text: string): void {
  expect(text).not.toContain(LEAK)
  expect(text).not.toContain(CLIENT_SECRET)
  expect(text).not.toContain(Buffer.from(`id:${CLIENT_SECRET}`).toString('base64'))
}

describe('a failing token endpoint', () => {
  it('fails every waiting call with credential_unavailable and leaks nothing', async () => {
    server = await tokenServer((_req, _n, res) => {
      setTimeout(() => {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'invalid_client', error_description: LEAK, access_token: LEAK }))
      }, 30)
    })
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: rec.logger, env, now: manualClock(0).now })

    const errors = await Promise.all(Array.from({ length: 10 }, () => failure(creds!.get())))
    expect(server.calls).toBe(1)
    for (const err of errors) {
      expect(err.code).toBe('credential_unavailable')
      expect(err.message).toBe('oauth2 token for vendor acme is unavailable')
      expectNoLeak(inspect(err, { depth: 5 }) + JSON.stringify(err) + String(err.cause))
    }
    expect((errors[0]!.cause as Error).message).toBe('token endpoint answered 401 invalid_client')
    expect(rec.lines.filter(l => l.level === 'error')).toEqual([{
      level: 'error',
      obj: { vendor: 'acme', tokenUrl: server.url, reason: 'token endpoint answered 401 invalid_client', failures: 1, retryInMs: 1000 },
      msg: 'oauth2 token request failed',
    }])
    expectNoLeak(rec.text())
    expect(creds.unavailable()).toEqual(['oauth2 token'])
  })

  it('retries on use after a growing backoff, never in a loop, and recovers', async () => {
    let healthy = false
    server = await tokenServer((_req, n, res) => {
      if (healthy) sendToken(res, `tok-${n}`)
      else res.writeHead(500).end(LEAK)
    })
    const clock = manualClock(0)
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: rec.logger, env, now: clock.now })

    await failure(creds.get())
    for (let i = 0; i < 100; i++) expect(() => creds!.get()).toThrow(SluiceError) // refused at once, synchronously
    expect(server.calls).toBe(1)

    clock.t = 1000
    await failure(creds.get())
    expect(server.calls).toBe(2)
    clock.t = 2999 // the second backoff is 2 s
    expect(() => creds!.get()).toThrow(SluiceError)
    expect(server.calls).toBe(2)

    healthy = true
    clock.t = 3000
    expect((await creds.get()).headers).toEqual([['authorization', 'Bearer tok-3']])
    expect(creds.unavailable()).toEqual([])
    expect(rec.lines.map(l => l.msg)).toContain('oauth2 token endpoint recovered')
    expectNoLeak(rec.text())
  })

  it('says nothing of a 200 answer that holds no usable token', async () => {
    server = await tokenServer((_req, _n, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(`{"token": "${LEAK}"`) })
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: rec.logger, env })
    const err = await failure(creds.get())
    expect((err.cause as Error).message).toBe('token endpoint answered without a usable access_token')
    expectNoLeak(inspect(err, { depth: 5 }) + rec.text())
  })

  it('gives up on a token endpoint that does not answer, within its own timeouts', async () => {
    server = await tokenServer(() => { /* never answers */ })
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }),
      { logger: rec.logger, env, tokenTimeouts: { connectMs: 200, readMs: 200, totalMs: 1000 } })
    const started = Date.now()
    const err = await failure(creds.get())
    expect(Date.now() - started).toBeLessThan(2000)
    expect((err.cause as Error).message).toMatch(/^token request timed out/)
  })

  it('makes no request while the client secret reference cannot be resolved, and names it', async () => {
    server = await tokenServer((_req, _n, res) => sendToken(res, 'tok'))
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({ oauth2: oauth2Section(server.url) }), { logger: rec.logger, env: { CLIENT_ID: 'id' } })
    const err = await failure(creds.get())
    expect(err.message).toBe('credential ${env:CLIENT_SECRET} for vendor acme is unavailable')
    expect(server.calls).toBe(0)
    expect(creds.unavailable()).toEqual(['${env:CLIENT_SECRET}'])
    expect(rec.lines.filter(l => l.level === 'error')).toHaveLength(1)
  })
})
