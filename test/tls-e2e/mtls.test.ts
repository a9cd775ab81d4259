// mTLS: tls.cert and tls.key from ${file:...} are presented to a vendor that
// requires a client certificate. A Kubernetes Secret update (a ..data symlink
// swap) is used for new connections without a restart, while a call in flight
// on the old connection finishes. The key never appears in any output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ServerResponse } from 'node:http'
import { request } from 'undici'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { makePki, type Issued, type TestPki } from '../helpers/tls.js'
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'
import { k8sSecretDir } from '../credentials/k8s-secret.js'
import { explainPolicy } from '../../src/policy/explain.js'
import type { VendorPolicy } from '../../src/policy/types.js'

let pki: TestPki
let up: HttpsUpstream
let sluice: TestSluice
let secretDir: string
let secret: ReturnType<typeof k8sSecretDir>
let first: Issued
let second: Issued
let releaseSlow: () => void = () => {}

/** the base64 body of a PEM key, the part that must never be printed */
const keyBody = (pem: string): string => pem.split('\n').filter(l => l !== '' && !l.startsWith('-----')).join('')

beforeAll(async () => {
  pki = await makePki()
  const serverCa = await pki.ca('server-ca')
  const clientCa = await pki.ca('client-ca')
  first = await clientCa.issue('client-1', { client: true })
  second = await clientCa.issue('client-2', { client: true })
  const slow = new Promise<void>(resolve => { releaseSlow = resolve })
  up = await startHttpsUpstream((req, r) => {
    const res = r as ServerResponse
    // every call on a new connection, so each shows which certificate it was made with
    res.setHeader('connection', 'close')
    if (req.url === '/slow') {
      res.write('started;')
      slow.then(() => res.end('finished'), () => {})
      return
    }
    res.end('ok')
  }, { ...await serverCa.issue('server'), clientCa: clientCa.pem })
  secretDir = await mkdtemp(join(tmpdir(), 'sluice-mtls-'))
  secret = k8sSecretDir(secretDir)
  secret.publish({ 'tls.crt': first.cert, 'tls.key': first.key })
  sluice = await startTestSluice({
    'partner.yaml': `vendor: partner\nupstream: ${up.url}\ntls:\n  ca: "\${file:${serverCa.caFile}}"\n` +
      `  cert: "\${file:${secretDir}/tls.crt}"\n  key: "\${file:${secretDir}/tls.key}"\n`,
  }, { logLevel: 'trace' })
})
afterAll(async () => {
  releaseSlow()
  await sluice?.stop()
  await up?.close()
  await pki?.remove()
  await rm(secretDir, { recursive: true, force: true })
})

const cnOfLastCall = (): string | undefined => up.sessions[up.seen.at(-1)?.session ?? -1]?.clientCn

describe('a client certificate from files', () => {
  it('is presented to a vendor that requires one', async () => {
    const res = await request(`${sluice.url}/partner/v1`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('ok')
    expect(cnOfLastCall()).toBe('client-1')
  })

  it('rotated by a Secret update, is used for new connections; a call in flight finishes', async () => {
    const slow = await request(`${sluice.url}/partner/slow`)
    expect(slow.statusCode).toBe(200)
    const slowSession = up.seen.at(-1)?.session as number
    secret.publish({ 'tls.crt': second.cert, 'tls.key': second.key })
    const deadline = Date.now() + 10_000
    for (;;) {
      const res = await request(`${sluice.url}/partner/v1`)
      expect(res.statusCode).toBe(200)
      await res.body.dump()
      if (cnOfLastCall() === 'client-2') break
      if (Date.now() > deadline) throw new Error('the rotated certificate was never presented')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    releaseSlow()
    expect(await slow.body.text()).toBe('started;finished')
    expect(up.sessions[slowSession]?.clientCn).toBe('client-1')
  })

  it('never shows the key: not in explain, not in /policies, not in the trace log', async () => {
    const policies = await (await request(`${sluice.adminUrl}/policies`)).body.text()
    const explained = JSON.stringify(explainPolicy(sluice.sluice.runtime.current.byName.get('partner')?.policy as VendorPolicy))
    expect(explained).toContain(`"key":"\${file:${secretDir}/tls.key}"`)
    expect(policies).toContain(`\${file:${secretDir}/tls.key}`)
    for (const key of [first.key, second.key]) {
      expect(policies).not.toContain(keyBody(key).slice(0, 40))
      expect(explained).not.toContain(keyBody(key).slice(0, 40))
      expect(sluice.logText()).not.toContain(keyBody(key).slice(0, 40))
    }
    // the rotation was logged, by reference only
    expect(sluice.logs.some(l => l.msg === 'tls file changed' && l.field === 'tls.cert')).toBe(true)
  })
})
