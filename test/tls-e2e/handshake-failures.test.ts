// A TLS handshake that fails is 502 upstream_tls, its message naming why, the
// library code in the log's cause, and it is not retried (retry.on includes
// connect-error here, so a mapping to upstream_unreachable would retry).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { makePki, opensslDate, type TestPki } from '../helpers/tls.js'
import { ok, startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let pki: TestPki
const ups: HttpsUpstream[] = []
let sluice: TestSluice

const RETRY = 'retry:\n  attempts: 3\n  on: [connect-error, timeout, reset]\n  backoff:\n    initial: 1ms\n    max: 2ms\n'

beforeAll(async () => {
  pki = await makePki()
  const trusted = await pki.ca('trusted')
  const other = await pki.ca('other')
  const serve = async (name: string, cert: { cert: string, key: string }, extra: { clientCa?: string } = {}): Promise<string> => {
    const up = await startHttpsUpstream(ok, { ...cert, ...extra })
    ups.push(up)
    return `${name}.yaml`
  }
  const files: Record<string, string> = {}
  const add = async (name: string, cert: { cert: string, key: string }, extra: { clientCa?: string } = {}): Promise<void> => {
    await serve(name, cert, extra)
    files[`${name}.yaml`] = `vendor: ${name}\nupstream: ${(ups.at(-1) as HttpsUpstream).url}\n${RETRY}`
  }
  await add('unknown-ca', await other.issue('unknown'))
  await add('expired', await trusted.issue('expired', { notBefore: opensslDate(-3), notAfter: opensslDate(-1) }))
  await add('not-yet-valid', await trusted.issue('future', { notBefore: opensslDate(1), notAfter: opensslDate(3) }))
  await add('wrong-name', await trusted.issue('wrong', { san: 'DNS:other.test' }))
  await add('client-cert', await trusted.issue('mtls-server'), { clientCa: trusted.pem })
  sluice = await startTestSluice(files, { env: { SLUICE_CA_FILE: trusted.caFile } })
})
afterAll(async () => {
  await sluice?.stop()
  for (const up of ups) await up.close()
  await pki?.remove()
})

describe.each([
  ['unknown-ca', 'a CA sluice does not trust', /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/],
  ['expired', 'has expired', /^CERT_HAS_EXPIRED$/],
  ['not-yet-valid', 'is not yet valid', /^CERT_NOT_YET_VALID$/],
  ['wrong-name', 'does not name the upstream host', /^ERR_TLS_CERT_ALTNAME_INVALID$/],
  ['client-cert', 'refused the client certificate', /^ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED$/],
])('a vendor whose handshake fails: %s', (vendor, reason, cause) => {
  it(`is 502 upstream_tls naming "${reason}", sent once, the code in the log's cause`, async () => {
    const id = `tls-${vendor}`
    const before = await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor, kind: 'tls' }) ?? 0
    const res = await request(`${sluice.url}/${vendor}/v1`, { headers: { 'x-request-id': id } })
    const body = await res.body.json() as { error: string, message: string }
    expect(res.statusCode).toBe(502)
    expect(res.headers['x-sluice-error']).toBe('upstream_tls')
    expect(body.error).toBe('upstream_tls')
    expect(body.message).toContain(reason)
    await eventually(() => requestLines(sluice).some(l => l.reqId === id))
    const line = requestLines(sluice).find(l => l.reqId === id) as Record<string, unknown>
    expect(line).toMatchObject({ status: 502, error: 'upstream_tls', attempts: 1 })
    expect(String(line.cause)).toMatch(cause)
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor, kind: 'tls' })).toBe(before + 1)
  })
})
