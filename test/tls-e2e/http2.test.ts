// http2: true offers h2 by ALPN: an h2-only vendor is reached over h2 (bodies
// both ways, streamed answers, many calls at once on one connection), and a
// vendor that offers only HTTP/1.1 is reached over HTTP/1.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Http2ServerResponse } from 'node:http2'
import { request } from 'undici'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestPki } from '../helpers/tls.js'
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'

let pki: TestPki
let h2: HttpsUpstream
let h2Stream: HttpsUpstream
let h1: HttpsUpstream
let sluice: TestSluice
let release: () => void = () => {}

beforeAll(async () => {
  pki = await makePki()
  const ca = await pki.ca('ca')
  const cert = await ca.issue('server')
  h2 = await startHttpsUpstream((req, r, body) => {
    const res = r as Http2ServerResponse
    res.setHeader('content-type', 'application/json')
    res.setHeader('set-cookie', ['a=1', 'b=2'])
    res.setHeader('x-vendor', 'h2')
    res.end(JSON.stringify({ method: req.method, path: req.url, body: body.toString(), protocol: req.httpVersion }))
  }, { ...cert, h2: true })
  const released = new Promise<void>(resolve => { release = resolve })
  h2Stream = await startHttpsUpstream((_req, r) => {
    const res = r as Http2ServerResponse
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: one\n\n')
    released.then(() => res.end('data: two\n\n'), () => {})
  }, { ...cert, h2: true, streaming: true })
  h1 = await startHttpsUpstream((req, res) => { res.end(`http/${req.httpVersion}`) }, cert)
  const trust = `tls:\n  ca: "\${file:${ca.caFile}}"\nhttp2: true\n`
  sluice = await startTestSluice({
    'h2.yaml': `vendor: h2\nupstream: ${h2.url}\n${trust}`,
    'stream.yaml': `vendor: stream\nupstream: ${h2Stream.url}\n${trust}`,
    'h1.yaml': `vendor: h1\nupstream: ${h1.url}\n${trust}`,
  })
})
afterAll(async () => {
  release()
  await sluice?.stop()
  for (const up of [h2, h2Stream, h1]) await up?.close()
  await pki?.remove()
})

describe('http2: true', () => {
  it('reaches an h2-only vendor over h2, with the request body and every response header', async () => {
    const res = await request(`${sluice.url}/h2/v1/items?q=1`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-vendor']).toBe('h2')
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(await res.body.json()).toEqual({ method: 'POST', path: '/v1/items?q=1', body: 'payload', protocol: '2.0' })
    expect(h2.seen.at(-1)?.headers[':authority']).toBe(`127.0.0.1:${h2.port}`)
  })

  it('relays a streamed answer over h2 as it comes', async () => {
    const res = await request(`${sluice.url}/stream/events`)
    expect(res.statusCode).toBe(200)
    const it = res.body[Symbol.asyncIterator]()
    expect(Buffer.from((await it.next()).value as Buffer).toString()).toBe('data: one\n\n')
    release()
    let rest = ''
    for (let n = await it.next(); n.done !== true; n = await it.next()) rest += Buffer.from(n.value as Buffer).toString()
    expect(rest).toBe('data: two\n\n')
  })

  it('carries many concurrent calls on one connection', async () => {
    const from = h2.seen.length
    const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const res = await request(`${sluice.url}/h2/v1/n/${i}`)
      return { status: res.statusCode, body: await res.body.json() as { path: string } }
    }))
    expect(results.map(r => r.status)).toEqual(Array(30).fill(200))
    expect(results.map(r => r.body.path)).toEqual(Array.from({ length: 30 }, (_, i) => `/v1/n/${i}`))
    const sessions = new Set(h2.seen.slice(from).map(s => s.session))
    expect(sessions.size).toBe(1)
    expect(h2.sessions).toHaveLength(1)
  })

  it('falls back to HTTP/1.1 when the vendor does not offer h2', async () => {
    const res = await request(`${sluice.url}/h1/v1`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('http/1.1')
    expect(h1.sessions.at(-1)?.alpn).toBe('http/1.1')
  })
})
