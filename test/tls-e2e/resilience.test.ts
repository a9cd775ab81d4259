// Retries, timeouts and the breaker work the same over TLS: a reset after the
// request is retried on a new TLS connection, a vendor that accepts TCP but
// never completes the handshake is a connect timeout, and 5xx answers open the
// breaker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestPki } from '../helpers/tls.js'
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'
import { eventually } from '../helpers/wait.js'

let pki: TestPki
let resetting: HttpsUpstream
let failing: HttpsUpstream
let silent: Server
const silentSockets: Socket[] = []
let sluice: TestSluice

const FAST_RETRY = 'retry:\n  attempts: 2\n  backoff:\n    initial: 1ms\n    max: 2ms\n'

beforeAll(async () => {
  pki = await makePki()
  const ca = await pki.ca('ca')
  const server = await ca.issue('server')
  let calls = 0
  resetting = await startHttpsUpstream((req, res) => {
    // the first request's connection is cut before any response byte
    if (calls++ === 0) req.socket.destroy()
    else res.end('second try')
  }, { cert: server.cert, key: server.key })
  failing = await startHttpsUpstream((_req, res) => { res.statusCode = 503; res.end('down') }, { cert: server.cert, key: server.key })
  // accepts the TCP connection, never answers the ClientHello
  silent = createServer(s => { silentSockets.push(s); s.on('error', () => {}) })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  const silentPort = (silent.address() as AddressInfo).port
  sluice = await startTestSluice({
    'reset.yaml': `vendor: reset\nupstream: ${resetting.url}\n${FAST_RETRY}circuitBreaker:\n  enabled: false\n`,
    'silent.yaml': `vendor: silent\nupstream: https://127.0.0.1:${silentPort}\ntimeouts:\n  connect: 300ms\nretry:\n  attempts: 1\n`,
    'breaker.yaml': `vendor: breaker\nupstream: ${failing.url}\nretry:\n  attempts: 1\ncircuitBreaker:\n  minimumRequests: 2\n  failureRate: 50%\n  openFor: 60s\n`,
  }, { env: { SLUICE_CA_FILE: ca.caFile } })
})
afterAll(async () => {
  await sluice?.stop()
  await resetting?.close()
  await failing?.close()
  for (const s of silentSockets) s.destroy()
  await new Promise(resolve => silent?.close(resolve))
  await pki?.remove()
})

describe('resilience over TLS', () => {
  it('a reset before the answer is retried on a new TLS connection', async () => {
    const res = await request(`${sluice.url}/reset/v1`, { headers: { 'x-request-id': 'tls-reset' } })
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('second try')
    expect(resetting.seen).toHaveLength(2)
    expect(resetting.sessions.length).toBe(2)
    await eventually(() => requestLines(sluice).some(l => l.reqId === 'tls-reset'))
    expect(requestLines(sluice).find(l => l.reqId === 'tls-reset')).toMatchObject({ status: 200, attempts: 2 })
  })

  it('a handshake that never completes is 504 upstream_timeout naming connect', async () => {
    const res = await request(`${sluice.url}/silent/v1`)
    const body = await res.body.json() as { error: string, message: string }
    expect(res.statusCode).toBe(504)
    expect(body.error).toBe('upstream_timeout')
    expect(body.message).toMatch(/^connect timeout/)
    // the TCP connection was made: it is the handshake that timed out
    expect(silentSockets.length).toBeGreaterThan(0)
  })

  it('5xx answers over TLS open the breaker', async () => {
    for (let i = 0; i < 2; i++) expect((await request(`${sluice.url}/breaker/v1`)).statusCode).toBe(503)
    const res = await request(`${sluice.url}/breaker/v1`)
    expect(res.statusCode).toBe(503)
    expect(res.headers['x-sluice-error']).toBe('circuit_open')
    expect(failing.seen).toHaveLength(2)
  })
})
