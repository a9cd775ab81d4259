// limits.body (413) and the client slowloris guard (SLUICE_CLIENT_TIMEOUT, 408).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((_req, res, body) => res.end(`got ${body.length}`))
  sluice = await startTestSluice({
    'v.yaml': `vendor: v\nupstream: ${up.url}\nlimits:\n  body: 1kb\nretry:\n  maxBufferedBody: 512b\n`,
  }, { env: { SLUICE_CLIENT_TIMEOUT: '300ms' } })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('limits.body', () => {
  it('refuses a declared Content-Length over the limit with 413 before reading it', async () => {
    const before = up.seen.length
    const res = await request(`${sluice.url}/v/x`, { method: 'POST', body: Buffer.alloc(1025) })
    expect(res.statusCode).toBe(413)
    expect(res.headers['x-sluice-error']).toBe('payload_too_large')
    await res.body.dump()
    expect(up.seen.length).toBe(before)
  })

  it('accepts a body exactly at the limit', async () => {
    const res = await request(`${sluice.url}/v/x`, { method: 'POST', body: Buffer.alloc(1024) })
    expect(await res.body.text()).toBe('got 1024')
  })

  it('refuses a chunked body that grows past the limit', async () => {
    async function * gen () { for (let i = 0; i < 8; i++) yield Buffer.alloc(200) }
    const res = await request(`${sluice.url}/v/x`, { method: 'POST', body: Readable.from(gen()) })
    expect(res.statusCode).toBe(413)
    expect(res.headers['x-sluice-error']).toBe('payload_too_large')
    await res.body.dump()
  })
})

describe('client timeout', () => {
  it('answers 408 client_timeout when the body stalls', async () => {
    const res = await rawRequest(sluice.url, 'POST /v/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789')
    expect(res.status).toBe(408)
    expect(res.headers['x-sluice-error']).toBe('client_timeout')
    expect(res.headers.connection).toBe('close')
  })

  it('answers 408 when a streamed body (over the replay buffer) stalls mid-upload', async () => {
    const res = await rawRequest(sluice.url, 'POST /v/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 900\r\n\r\n' + 'a'.repeat(600))
    expect(res.status).toBe(408)
    expect(res.headers['x-sluice-error']).toBe('client_timeout')
  })

  it('closes a connection whose request headers never finish', async () => {
    const started = Date.now()
    const res = await rawRequest(sluice.url, 'GET /v/x HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', { timeoutMs: 5000 })
    // node answers 408 itself (or closes) once headersTimeout passes
    expect(res.status === 408 || Number.isNaN(res.status)).toBe(true)
    expect(Date.now() - started).toBeLessThan(4000)
  })
})
