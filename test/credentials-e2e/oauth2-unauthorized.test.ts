// A 401 from an oauth2 vendor (SPEC section 4): sluice renews the token once
// and replays the call when its body is replayable; a vendor that still says
// 401 gets its 401 relayed, not an endless loop of renewals.
import { afterEach, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'undici'
import type { UpstreamHandler } from '../helpers/upstream.js'
import { startOAuthCase, tokenNumber, type OAuthCase } from './oauth.js'

let c: OAuthCase | undefined
afterEach(async () => { await c?.stop() })

/** Answers 401 to any call carrying one of `refused`, the call's own body (echoed) otherwise. */
function refusing (refused: (auth: string | undefined) => boolean): UpstreamHandler {
  return (req, res, body) => {
    if (refused(req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' })
      res.end('{"error":"invalid_token"}')
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.end(body.length > 0 ? body : 'ok')
    }
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('a vendor that answers 401 once', () => {
  it('a GET: sluice fetches a second token and replays; the client gets 200', async () => {
    c = await startOAuthCase(refusing(auth => auth === `Bearer ${tokenNumber(1)}`))
    const res = await request(`${c.sluice.url}/acme/v1/me`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('ok')
    expect(c.tokens.calls).toBe(2)
    expect(c.up.seen.map(s => s.headers.authorization)).toEqual([`Bearer ${tokenNumber(1)}`, `Bearer ${tokenNumber(2)}`])
    const line = c.sluice.logs.find(l => l.msg === 'request')
    expect(line).toMatchObject({ status: 200, attempts: 2 })
  })

  it('a POST with a buffered body: replayed byte for byte, with the same idempotency key', async () => {
    c = await startOAuthCase(refusing(auth => auth === `Bearer ${tokenNumber(1)}`))
    const body = randomBytes(32 * 1024)
    const res = await request(`${c.sluice.url}/acme/v1/uploads`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
    expect(res.statusCode).toBe(200)
    expect(sha(Buffer.from(await res.body.arrayBuffer()))).toBe(sha(body))
    expect(c.up.seen).toHaveLength(2)
    for (const seen of c.up.seen) expect(sha(seen.body)).toBe(sha(body))
    expect(c.up.seen[1]!.headers['idempotency-key']).toBe(c.up.seen[0]!.headers['idempotency-key'])
    expect(c.up.seen[1]!.headers.authorization).toBe(`Bearer ${tokenNumber(2)}`)
  })

  it('20 concurrent calls refused with the same token: one renewal, all replayed', async () => {
    c = await startOAuthCase(refusing(auth => auth === `Bearer ${tokenNumber(1)}`), { tokenDelayMs: 50 })
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
      const res = await request(`${c!.sluice.url}/acme/v1/me`)
      await res.body.dump()
      return res.statusCode
    }))
    expect(statuses).toEqual(Array(20).fill(200))
    expect(c.tokens.calls).toBe(2)
  })
})

describe('a vendor that keeps answering 401', () => {
  it('renews once, then relays the 401 to the client', async () => {
    c = await startOAuthCase(refusing(() => true))
    const res = await request(`${c.sluice.url}/acme/v1/me`)
    expect(res.statusCode).toBe(401)
    expect(res.headers['x-sluice-error']).toBeUndefined() // the vendor's own answer
    expect(await res.body.text()).toBe('{"error":"invalid_token"}')
    expect(c.tokens.calls).toBe(2)
    expect(c.up.seen).toHaveLength(2)
  })
})

describe('a 401 to a body that cannot be replayed', () => {
  it('a streamed upload is not replayed: the 401 reaches the client', async () => {
    c = await startOAuthCase(refusing(() => true), { policy: 'retry:\n  maxBufferedBody: 1kb' })
    const res = await request(`${c.sluice.url}/acme/v1/uploads`, { method: 'POST', body: randomBytes(64 * 1024) })
    expect(res.statusCode).toBe(401)
    await res.body.dump()
    expect(c.up.seen).toHaveLength(1)
    expect(c.tokens.calls).toBe(1)
  })
})
