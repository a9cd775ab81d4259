// A client certificate that cannot be read is a missing credential: the call is
// 503 credential_unavailable and never reaches the vendor, and the message
// names the field, not the file's contents.
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
  up = await startHttpsUpstream(ok, await ca.issue('server'))
  sluice = await startTestSluice({
    'partner.yaml': `vendor: partner\nupstream: ${up.url}\ntls:\n  ca: "\${file:${ca.caFile}}"\n` +
      `  cert: "\${file:${pki.dir}/absent.crt}"\n  key: "\${file:${pki.dir}/absent.key}"\n`,
  })
})
afterAll(async () => {
  await sluice?.stop()
  await up?.close()
  await pki?.remove()
})

describe('a client certificate that cannot be read', () => {
  it('is 503 credential_unavailable, and nothing is sent', async () => {
    const res = await request(`${sluice.url}/partner/v1`)
    const body = await res.body.json() as { error: string, message: string }
    expect(res.statusCode).toBe(503)
    expect(body).toMatchObject({ error: 'credential_unavailable', message: 'the tls.cert of partner cannot be read' })
    expect(up.sessions).toHaveLength(0)
  })
})
