// Interception is opt-in: without the CA, a CONNECT even to a routed host stays
// 403 not_allowed. The CA settings are checked at start, and no message, log
// line or admin answer ever carries the CA key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { request } from 'undici'
import { rawRequest } from '../helpers/raw.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { loadSettings } from '../../src/settings.js'
import { makePki, type TestPki } from '../helpers/tls.js'
import { startInterception, type Interception } from './harness.js'
import { curl as curlPath } from '../helpers/binaries.js'

const execFileP = promisify(execFile)
const POLICY = { 'acme.yaml': 'vendor: acme\nupstream: https://api.acme.test\nroutes:\n  hosts: [api.acme.test]\n' }
let pki: TestPki
let plain: TestSluice

beforeAll(async () => {
  pki = await makePki()
  plain = await startTestSluice(POLICY)
})
afterAll(async () => {
  await plain?.stop()
  await pki?.remove()
})

describe('without SLUICE_INTERCEPT_CA_*', () => {
  it('a CONNECT to a routed host is 403 not_allowed', async () => {
    const res = await rawRequest(plain.url, 'CONNECT api.acme.test:443 HTTP/1.1\r\nHost: api.acme.test:443\r\n\r\n')
    expect(res.status).toBe(403)
    expect(res.headers['x-sluice-error']).toBe('not_allowed')
  })
})

describe('the interception CA settings', () => {
  it('a certificate without its key is refused', () => {
    expect(() => loadSettings({}, { SLUICE_INTERCEPT_CA_CERT: '/x/ca.pem' })).toThrow('SLUICE_INTERCEPT_CA_CERT and SLUICE_INTERCEPT_CA_KEY go together')
  })

  it('a key that is not the certificate\'s stops the start, naming the paths only', async () => {
    const one = await pki.ca('one')
    const two = await pki.ca('two')
    await expect(startTestSluice(POLICY, { env: { SLUICE_INTERCEPT_CA_CERT: one.caFile, SLUICE_INTERCEPT_CA_KEY: two.keyFile } }))
      .rejects.toThrow(`SLUICE_INTERCEPT_CA_KEY: ${two.keyFile} is not the key of ${one.caFile}`)
  })

  it('a file that is not a CA certificate stops the start', async () => {
    const one = await pki.ca('three')
    const leaf = await one.issue('leaf')
    await expect(startTestSluice(POLICY, { env: { SLUICE_INTERCEPT_CA_CERT: leaf.certFile, SLUICE_INTERCEPT_CA_KEY: leaf.keyFile } }))
      .rejects.toThrow('is not a CA certificate')
  })
})

describe('the CA key', () => {
  let ix: Interception
  beforeAll(async () => { ix = await startInterception('api.secret.test', { logLevel: 'trace' }) })
  afterAll(async () => { await ix?.close() })

  it('appears in no log line (trace included), metric or admin answer', async () => {
    await execFileP(curlPath(), ['-sS', '--max-time', '20', '-x', ix.sluice.url, '--cacert', ix.interceptCa.caFile, 'https://api.secret.test/v1'])
    const key = (await readFile(ix.interceptCa.keyFile, 'utf8')).split('\n').filter(l => l !== '' && !l.startsWith('-----')).join('')
    const outputs = [
      ix.sluice.logText(),
      await (await request(`${ix.sluice.adminUrl}/metrics`)).body.text(),
      await (await request(`${ix.sluice.adminUrl}/policies`)).body.text(),
    ]
    expect(outputs[1]).toContain('sluice_tunnels_total{vendor="acme",result="intercepted"} 1')
    for (const text of outputs) expect(text).not.toContain(key.slice(0, 32))
  })
})
