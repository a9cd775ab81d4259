// The client's x-request-id is logged as reqId, sent to the vendor and
// returned (SPEC section 2). One that carries PII (an e-mail, a card number, a
// JWT...) would reach the log unscrubbed, so it is replaced by a fresh id; an
// opaque id (UUID, 32-hex trace id, a counter) is kept as the client sent it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { jwtFor } from '../observability/factories.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({ 'acme.yaml': `vendor: acme\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function idsFor (sent: string): Promise<{ answered: string, forwarded: string | undefined, logged: unknown }> {
  const before = requestLines(sluice).length
  const res = await request(`${sluice.url}/acme/v1/ping`, { headers: { 'x-request-id': sent } })
  await res.body.dump()
  await eventually(() => requestLines(sluice).length > before)
  return {
    answered: res.headers['x-request-id'] as string,
    forwarded: up.seen.at(-1)!.headers['x-request-id'] as string | undefined,
    logged: requestLines(sluice).at(-1)!.reqId,
  }
}

describe('a client x-request-id', () => {
  it.each([
    'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    '4bf92f3577b34da6a3ce929d0e0e4736',
    'req-1700000000000-42',
    'svc.checkout:42/7',
  ])('%s is opaque: kept end to end', async (id) => {
    expect(await idsFor(id)).toEqual({ answered: id, forwarded: id, logged: id })
  })

  it.each([
    ['an e-mail', 'jane.doe@example.com'],
    ['a card number', '4111111111111111'],
    ['a JWT', jwtFor({ sub: 'user-1' })],
    ['an SSN', '078-05-1120'],
  ])('holding %s is replaced by a fresh id, the same everywhere', async (_what, id) => {
    const { answered, forwarded, logged } = await idsFor(id)
    expect(answered).toMatch(/^[0-9a-f-]{36}$/)
    expect(forwarded).toBe(answered)
    expect(logged).toBe(answered)
    expect(sluice.logText()).not.toContain(id)
  })
})
