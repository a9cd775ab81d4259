// A response body cut off after its headers reached the client (SPEC section
// 2): the client sees a cut-off response, never one that looks complete, and
// the call is not silently tried again, since bytes already went out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { request } from 'undici'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { fastRetry, lineOf, startRawUpstream, type RawUpstream } from './helpers.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let fixed: RawUpstream
let chunked: RawUpstream
let sluice: TestSluice

beforeAll(async () => {
  // Promises 1000 bytes, sends 400, then drops the connection.
  fixed = await startRawUpstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n' + '{"data":"' + 'x'.repeat(391))
    setTimeout(() => socket.destroy(), 30)
  })
  // Chunked: two chunks, then the connection drops without the last (0) chunk.
  chunked = await startRawUpstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n')
    setTimeout(() => socket.destroy(), 30)
  })
  // Retries on everything, with a breaker rule reading JSON: neither may turn the cut into a retry.
  const policy = fastRetry('  on: [connect-error, timeout, reset, 502, 503, 504]\n') + 'circuitBreaker:\n  enabled: false\n  bodyRule: { path: success, equals: false }\n'
  sluice = await startTestSluice({
    'fixed.yaml': `vendor: fixed\nupstream: ${fixed.url}\n${policy}`,
    'chunked.yaml': `vendor: chunked\nupstream: ${chunked.url}\n${policy}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await fixed.close()
  await chunked.close()
})

/** The bytes the client got, read off the socket, until sluice closes it. */
function rawGet (path: string, id: string): Promise<string> {
  const url = new URL(sluice.url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    let data = ''
    socket.setTimeout(5000, () => { socket.destroy(); reject(new Error('no close from sluice')) })
    socket.on('data', (c: Buffer) => { data += c.toString('latin1') })
    socket.on('close', () => resolve(data))
    socket.on('error', () => {})
    socket.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nx-request-id: ${id}\r\n\r\n`)
  })
}

describe('a body cut off after the headers were relayed', () => {
  it('with Content-Length: the client gets fewer bytes than promised and a closed connection, after one attempt', async () => {
    const raw = await rawGet('/fixed/x', 'cut-fixed')
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'))
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    expect(head.toLowerCase()).toContain('content-length: 1000')
    expect(raw.length - head.length - 4).toBe(400)
    expect(fixed.seen).toHaveLength(1)
    await eventually(() => lineOf(requestLines(sluice), 'cut-fixed') !== undefined)
    expect(lineOf(requestLines(sluice), 'cut-fixed')).toMatchObject({ status: 200, attempts: 1, cutOff: true })
  })

  it('chunked: the client never gets the last chunk, after one attempt', async () => {
    const raw = await rawGet('/chunked/x', 'cut-chunked')
    expect(raw).toMatch(/^HTTP\/1\.1 200 /)
    expect(raw).toContain('hello')
    expect(raw).not.toMatch(/\r\n0\r\n\r\n$/)
    expect(chunked.seen).toHaveLength(1)
    await eventually(() => lineOf(requestLines(sluice), 'cut-chunked') !== undefined)
    expect(lineOf(requestLines(sluice), 'cut-chunked')).toMatchObject({ status: 200, attempts: 1, cutOff: true })
  })

  it('an HTTP client sees the body fail, and the cut is counted as a reset', async () => {
    const before = await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'fixed', kind: 'reset' }) ?? 0
    fixed.seen.length = 0
    const res = await request(`${sluice.url}/fixed/x`)
    expect(res.statusCode).toBe(200)
    await expect(res.body.text()).rejects.toThrow()
    expect(fixed.seen).toHaveLength(1)
    await eventually(() => requestLines(sluice).filter(l => l.vendor === 'fixed').length === 2)
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'fixed', kind: 'reset' })).toBe(before + 1)
  })
})
