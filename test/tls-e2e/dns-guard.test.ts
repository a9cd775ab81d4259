// The DNS guard over TLS: the address dialled is the one the guard checked,
// while SNI and the certificate check still use the host name. The vendor's
// certificate names only DNS:localhost (no IP), so a check made against the
// dialled address would fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestPki } from '../helpers/tls.js'
import { ok, startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'

let pki: TestPki
let up: HttpsUpstream
let sluice: TestSluice

beforeAll(async () => {
  pki = await makePki()
  const ca = await pki.ca('ca')
  up = await startHttpsUpstream(ok, await ca.issue('localhost', { san: 'DNS:localhost' }))
  const upstream = `https://localhost:${up.port}`
  sluice = await startTestSluice({
    'private.yaml': `vendor: private\nupstream: ${upstream}\nnetwork:\n  allowPrivate: true\n`,
    'guarded.yaml': `vendor: guarded\nupstream: ${upstream}\nretry:\n  attempts: 1\n`,
  }, { env: { SLUICE_CA_FILE: ca.caFile } })
})
afterAll(async () => {
  await sluice?.stop()
  await up?.close()
  await pki?.remove()
})

describe('the DNS guard with an HTTPS upstream', () => {
  it('a guarded host name that resolves to loopback is refused before any handshake', async () => {
    const res = await request(`${sluice.url}/guarded/v1`)
    await res.body.dump()
    expect(res.statusCode).toBe(403)
    expect(res.headers['x-sluice-error']).toBe('forbidden_destination')
    expect(up.sessions).toHaveLength(0)
  })

  it('with allowPrivate, the certificate is checked for the host name and SNI carries it', async () => {
    const res = await request(`${sluice.url}/private/v1`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toEqual({ ok: true })
    expect(up.sessions.map(s => s.servername)).toEqual(['localhost'])
  })
})
