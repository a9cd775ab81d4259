// What node's HTTP parser refuses, and the header-phase client timeout, come
// out in sluice's own format (JSON body, x-sluice-error, x-request-id), each
// with a request log line and a count in sluice_requests_total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { parseResponse, rawRequest, type RawResponse } from '../helpers/raw.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream()
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` }, { env: { SLUICE_CLIENT_TIMEOUT: '1s' } })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

function expectSluiceAnswer (res: RawResponse, status: number, code: string): string {
  expect(res.status).toBe(status)
  expect(res.headers['x-sluice-error']).toBe(code)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = JSON.parse(res.body) as { error: string, requestId: string }
  expect(body.error).toBe(code)
  expect(res.headers['x-request-id']).toBe(body.requestId)
  expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/)
  return body.requestId
}

async function lineOf (reqId: string): Promise<Record<string, unknown>> {
  await eventually(() => requestLines(sluice).some(l => l.reqId === reqId))
  return requestLines(sluice).find(l => l.reqId === reqId) as Record<string, unknown>
}

const malformed: Array<[string, string]> = [
  ['a space in a header name', 'GET /v/x HTTP/1.1\r\nHost: localhost\r\nX A: b\r\n\r\n'],
  ['a NUL in a header value', 'GET /v/x HTTP/1.1\r\nHost: localhost\r\nX-A: b\0c\r\n\r\n'],
  ['an obs-fold continuation line', 'GET /v/x HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n  folded\r\n\r\n'],
  ['a bad request line', 'GET /v/x HTTP/9 9\r\nHost: localhost\r\n\r\n'],
  ['a request line that is no request', 'HELLO\r\n\r\n'],
]

describe('requests the HTTP parser refuses', () => {
  for (const [what, text] of malformed) {
    it(`answers ${what} 400 bad_request in sluice's format, logged and counted`, async () => {
      const labels = { vendor: 'none', method: '-', status: '400' }
      const before = await metricValue(sluice.adminUrl, 'sluice_requests_total', labels) ?? 0
      const seen = up.seen.length
      const res = await rawRequest(sluice.url, text)
      const reqId = expectSluiceAnswer(res, 400, 'bad_request')
      expect(await lineOf(reqId)).toMatchObject({ status: 400, error: 'bad_request', method: '-', path: '-' })
      expect(await metricValue(sluice.adminUrl, 'sluice_requests_total', labels)).toBe(before + 1)
      expect(up.seen.length).toBe(seen)
    })
  }

  it('answers a bad chunk size as the call it belongs to: 400, its vendor and method on the line, nothing forwarded', async () => {
    const seen = up.seen.length
    const res = await rawRequest(sluice.url, 'POST /v/charges HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nx-request-id: chunk-1\r\n\r\n5\r\nhello\r\nzz\r\n')
    expect(res.status).toBe(400)
    expect(res.headers['x-sluice-error']).toBe('bad_request')
    expect(res.headers['x-request-id']).toBe('chunk-1')
    expect(JSON.parse(res.body)).toMatchObject({ error: 'bad_request', vendor: 'v', requestId: 'chunk-1' })
    expect(await lineOf('chunk-1')).toMatchObject({ vendor: 'v', method: 'POST', status: 400, error: 'bad_request' })
    expect(up.seen.length).toBe(seen)
  })

  it('answers request headers over 16 KB 431 headers_too_large', async () => {
    const before = await metricValue(sluice.adminUrl, 'sluice_requests_total', { vendor: 'none', method: '-', status: '431' }) ?? 0
    const res = await rawRequest(sluice.url, `GET /v/x HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    const reqId = expectSluiceAnswer(res, 431, 'headers_too_large')
    expect(await lineOf(reqId)).toMatchObject({ status: 431, error: 'headers_too_large' })
    expect(await metricValue(sluice.adminUrl, 'sluice_requests_total', { vendor: 'none', method: '-', status: '431' })).toBe(before + 1)
  })
})

describe('the header-phase client timeout', () => {
  it('answers request headers that stall 408 client_timeout, logged and counted', async () => {
    const before = await metricValue(sluice.adminUrl, 'sluice_requests_total', { vendor: 'none', method: '-', status: '408' }) ?? 0
    const url = new URL(sluice.url)
    // half a head, then silence: sluice must answer, not the test give up
    const res = await new Promise<RawResponse>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname)
      let data = ''
      socket.setTimeout(15_000, () => { socket.destroy(); reject(new Error('no answer: ' + data)) })
      socket.on('data', (c: Buffer) => { data += c.toString('latin1') })
      socket.on('close', () => resolve(parseResponse(data)))
      socket.on('error', reject)
      socket.write('GET /v/x HTTP/1.1\r\nHost: localhost\r\nX-Partial: ')
    })
    const reqId = expectSluiceAnswer(res, 408, 'client_timeout')
    expect(await lineOf(reqId)).toMatchObject({ status: 408, error: 'client_timeout' })
    expect(await metricValue(sluice.adminUrl, 'sluice_requests_total', { vendor: 'none', method: '-', status: '408' })).toBe(before + 1)
  })
})
