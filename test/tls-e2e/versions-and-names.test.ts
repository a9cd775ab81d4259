// Per-vendor TLS settings: tls.ca trusts a CA for that vendor only,
// tls.servername is both the SNI sent and the name the certificate must carry,
// and tls.minVersion refuses a vendor that speaks only older versions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestPki } from '../helpers/tls.js'
import { ok, startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'

let pki: TestPki
let named: HttpsUpstream
let old: HttpsUpstream
let sluice: TestSluice

beforeAll(async () => {
  pki = await makePki()
  const ca = await pki.ca('vendor-ca')
  named = await startHttpsUpstream(ok, await ca.issue('named', { san: 'DNS:api.vendor.test' }))
  old = await startHttpsUpstream(ok, { ...await ca.issue('old'), maxVersion: 'TLSv1.2' })
  const trust = `  ca: "\${file:${ca.caFile}}"\n`
  const once = 'retry:\n  attempts: 1\n'
  sluice = await startTestSluice({
    'named.yaml': `vendor: named\nupstream: ${named.url}\ntls:\n${trust}  servername: api.vendor.test\n${once}`,
    'unnamed.yaml': `vendor: unnamed\nupstream: ${named.url}\ntls:\n${trust}${once}`,
    'untrusted.yaml': `vendor: untrusted\nupstream: ${old.url}\n${once}`,
    'old.yaml': `vendor: old\nupstream: ${old.url}\ntls:\n${trust}${once}`,
    'modern.yaml': `vendor: modern\nupstream: ${old.url}\ntls:\n${trust}  minVersion: TLSv1.3\n${once}`,
  })
})
afterAll(async () => {
  await sluice?.stop()
  await named?.close()
  await old?.close()
  await pki?.remove()
})

async function call (vendor: string): Promise<{ status: number, error: string | undefined, message: string | undefined }> {
  const res = await request(`${sluice.url}/${vendor}/v1`)
  const text = await res.body.text()
  const body = text.startsWith('{"error"') ? JSON.parse(text) as { error: string, message: string } : undefined
  return { status: res.statusCode, error: body?.error, message: body?.message }
}

describe('tls.ca', () => {
  it('trusts the CA for the vendor that names it', async () => {
    expect(await call('old')).toMatchObject({ status: 200 })
  })

  it('and for no other vendor', async () => {
    expect(await call('untrusted')).toMatchObject({ status: 502, error: 'upstream_tls' })
  })
})

describe('tls.servername', () => {
  it('is sent as SNI and checked against the certificate', async () => {
    expect(await call('named')).toMatchObject({ status: 200 })
    expect(named.sessions.map(s => s.servername)).toContain('api.vendor.test')
  })

  it('without it the IP upstream is checked, and the certificate does not name it', async () => {
    const r = await call('unnamed')
    expect(r).toMatchObject({ status: 502, error: 'upstream_tls' })
    expect(r.message).toContain('does not name the upstream host')
  })
})

describe('tls.minVersion', () => {
  it('TLSv1.3 refuses a vendor that speaks TLS 1.2 at most', async () => {
    const r = await call('modern')
    expect(r).toMatchObject({ status: 502, error: 'upstream_tls' })
    expect(r.message).toContain('no TLS version both sides accept')
  })
})
