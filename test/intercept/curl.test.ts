// curl through sluice as its HTTPS proxy (-x): a CONNECT to a routed host is
// intercepted, the request inside goes through the vendor's policy (credential
// injected, one request log line, counted), and the tunnel is counted. A host
// no policy routes stays 403, and a client that does not trust the CA never
// reaches the pipeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { requestLines } from '../helpers/sluice.js'
import { startInterception, type Interception } from './harness.js'
import { curl as curlPath } from '../helpers/binaries.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const execFileP = promisify(execFile)
let ix: Interception

async function curl (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(curlPath(), ['-sS', '--max-time', '20', '-x', ix.sluice.url, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

beforeAll(async () => {
  process.env.IX_VENDOR_KEY = 'sk_live_from_sluice'
  ix = await startInterception('api.vendor.test', { inject: 'inject:\n  headers:\n    Authorization: "Bearer ${env:IX_VENDOR_KEY}"\n' })
})
afterAll(async () => { await ix?.close() })

describe('curl -x sluice https://api.vendor.test', () => {
  it('is intercepted and the call goes through the vendor policy', async () => {
    const r = await curl('--cacert', ix.interceptCa.caFile, '-H', 'x-request-id: curl-1', '-H', 'authorization: Bearer client-key',
      '-d', '{"a":1}', 'https://api.vendor.test/v1/items?x=1')
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ method: 'POST', path: '/v1/items?x=1', authorization: 'Bearer sk_live_from_sluice', body: '{"a":1}' })
    await eventually(() => requestLines(ix.sluice).some(l => l.reqId === 'curl-1'))
    expect(requestLines(ix.sluice).find(l => l.reqId === 'curl-1')).toMatchObject({ vendor: 'acme', method: 'POST', path: '/v1/items?x=1', status: 200 })
    expect(await metricValue(ix.sluice.adminUrl, 'sluice_tunnels_total', { vendor: 'acme', result: 'intercepted' })).toBe(1)
    expect(await metricValue(ix.sluice.adminUrl, 'sluice_requests_total', { vendor: 'acme', method: 'POST', status: '200' })).toBe(1)
  })

  it('a CONNECT to a host no policy routes is 403 not_allowed', async () => {
    const r = await curl('--cacert', ix.interceptCa.caFile, 'https://elsewhere.test/')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('403')
    expect(ix.vendor.seen.every(s => s.url !== '/')).toBe(true)
    expect(await metricValue(ix.sluice.adminUrl, 'sluice_tunnels_total', { vendor: '', result: 'refused' })).toBe(1)
  })

  it('a client that does not trust the CA fails its handshake and sends nothing', async () => {
    const seen = ix.vendor.seen.length
    const r = await curl('https://api.vendor.test/v1/untrusted')
    expect(r.code).toBe(60) // curl: peer certificate cannot be authenticated
    expect(ix.vendor.seen).toHaveLength(seen)
    expect(await metricValue(ix.sluice.adminUrl, 'sluice_tunnels_total', { vendor: 'acme', result: 'handshake_failed' })).toBe(1)
  })
})
