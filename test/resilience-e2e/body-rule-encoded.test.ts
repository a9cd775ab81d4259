// circuitBreaker.bodyRule on a compressed response: clients such as fetch()
// ask for gzip by default, and vendors comply, so a rule that read only
// identity bodies would never fire for them. The client still gets the
// vendor's compressed bytes untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { metricValue } from '../helpers/metrics.js'

const POLICY = 'retry:\n  attempts: 1\ncircuitBreaker:\n  failureRate: 50%\n  minimumRequests: 5\n  openFor: 5s\n  bodyRule: { path: success, equals: false }\n'
const FAILED = Buffer.from('{"success": false, "error": "card_declined"}')
const ENCODE: Record<string, (b: Buffer) => Buffer> = {
  gzip: gzipSync,
  deflate: deflateSync,
  br: brotliCompressSync,
  // labelled deflate, sent without the zlib wrapper, as some servers do
  'raw-deflate': deflateRawSync,
  // applied in order: gzip, then br
  'gzip, br': (b) => brotliCompressSync(gzipSync(b)),
}
/** 5 MB once decoded, a few kB on the wire: more than sluice decodes to judge a rule */
const BOMB = gzipSync(Buffer.from(`{"success": false, "pad": "${' '.repeat(5 * 1024 * 1024)}"}`))

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    const encoding = req.headers['x-test-encoding'] as string
    // "bogus-gzip": labelled gzip, sent plain.
    if (encoding === 'bomb') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(BOMB)
      return
    }
    const encode = ENCODE[encoding] ?? ((b: Buffer) => b)
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding.replace(/^(bogus|raw)-/, '') })
    res.end(encode(FAILED))
  })
  sluice = await startTestSluice({
    'gzip.yaml': `vendor: gzip\nupstream: ${up.url}\n${POLICY}`,
    'deflate.yaml': `vendor: deflate\nupstream: ${up.url}\n${POLICY}`,
    'br.yaml': `vendor: br\nupstream: ${up.url}\n${POLICY}`,
    'raw.yaml': `vendor: raw\nupstream: ${up.url}\n${POLICY}`,
    'both.yaml': `vendor: both\nupstream: ${up.url}\n${POLICY}`,
    'bomb.yaml': `vendor: bomb\nupstream: ${up.url}\n${POLICY}`,
    'bogus.yaml': `vendor: bogus\nupstream: ${up.url}\n${POLICY}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('bodyRule on a compressed JSON response', () => {
  it.each([
    ['gzip', 'gzip'], ['deflate', 'deflate'], ['br', 'br'], ['raw', 'raw-deflate'], ['both', 'gzip, br'],
  ])('%s: a %s body matching the rule counts, and the client gets the compressed bytes unchanged', async (vendor, encoding) => {
    for (let i = 0; i < 5; i++) {
      const res = await request(`${sluice.url}/${vendor}/x`, { headers: { 'accept-encoding': 'gzip, deflate, br', 'x-test-encoding': encoding } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-encoding']).toBe(encoding.replace(/^raw-/, ''))
      const bytes = Buffer.from(await res.body.arrayBuffer())
      expect(bytes.equals((ENCODE[encoding] as (b: Buffer) => Buffer)(FAILED))).toBe(true)
    }
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor, kind: 'body_rule' })).toBe(5)
  })

  it('a body that does not decode under its content-encoding is not judged (and still relayed)', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${sluice.url}/bogus/x`, { headers: { 'x-test-encoding': 'bogus-gzip', 'accept-encoding': 'gzip' } })
      await res.body.dump()
    }
    const res = await request(`${sluice.url}/bogus/x`, { headers: { 'x-test-encoding': 'identity' } })
    expect(Buffer.from(await res.body.arrayBuffer()).equals(FAILED)).toBe(true)
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'bogus', kind: 'body_rule' })).toBe(1)
  })

  it('a body that would decode to more than 1 MB is not judged, and reaches the client unchanged', async () => {
    const res = await request(`${sluice.url}/bomb/x`, { headers: { 'x-test-encoding': 'bomb', 'accept-encoding': 'gzip' } })
    expect(Buffer.from(await res.body.arrayBuffer()).equals(BOMB)).toBe(true)
    const ok = await request(`${sluice.url}/bomb/x`, { headers: { 'x-test-encoding': 'identity' } })
    await ok.body.dump()
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'bomb', kind: 'body_rule' })).toBe(1)
  })
})
