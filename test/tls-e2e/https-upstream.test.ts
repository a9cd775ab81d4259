// An HTTPS vendor, trusted through SLUICE_CA_FILE: routing by prefix and by
// Host, credential injection and a streamed (SSE) answer all work over TLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import type { ServerResponse } from 'node:http'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestPki } from '../helpers/tls.js'
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'
import { eventually } from '../helpers/wait.js'

let pki: TestPki
let up: HttpsUpstream
let sse: HttpsUpstream
let sluice: TestSluice
let releaseSse: () => void = () => {}

beforeAll(async () => {
  process.env.ACME_KEY = 'sk_test_tls'
  pki = await makePki()
  const ca = await pki.ca('ca')
  const server = await ca.issue('server')
  up = await startHttpsUpstream((req, res, body) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization ?? null, body: body.toString() }))
  }, { cert: server.cert, key: server.key })
  const released = new Promise<void>(resolve => { releaseSse = resolve })
  sse = await startHttpsUpstream((_req, r) => {
    const res = r as ServerResponse
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: first\n\n')
    released.then(() => res.end('data: last\n\n')).catch(() => {})
  }, { cert: server.cert, key: server.key, streaming: true })
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}/base\nroutes:\n  hosts: [api.acme.test]\ninject:\n  headers:\n    Authorization: "Bearer \${env:ACME_KEY}"\n`,
    'stream.yaml': `vendor: stream\nupstream: ${sse.url}\n`,
  }, { env: { SLUICE_CA_FILE: ca.caFile } })
})
afterAll(async () => {
  releaseSse()
  await sluice?.stop()
  await up?.close()
  await sse?.close()
  await pki?.remove()
})

describe('an HTTPS upstream trusted through SLUICE_CA_FILE', () => {
  it('routes by prefix over TLS, with the base path and the injected credential', async () => {
    const res = await request(`${sluice.url}/acme/v1/items?x=1`, { method: 'POST', body: 'hello' })
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toEqual({ path: '/base/v1/items?x=1', auth: 'Bearer sk_test_tls', body: 'hello' })
    expect(up.sessions.length).toBeGreaterThan(0)
  })

  it('routes by Host over TLS', async () => {
    const res = await request(`${sluice.url}/v1/by-host`, { headers: { host: 'api.acme.test' } })
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toMatchObject({ path: '/base/v1/by-host' })
  })

  it('relays a server-sent event stream as it comes, over TLS', async () => {
    const res = await request(`${sluice.url}/stream/events`, { headers: { 'x-request-id': 'tls-sse' } })
    expect(res.statusCode).toBe(200)
    const it = res.body[Symbol.asyncIterator]()
    const first = await it.next()
    // the first event arrived while the vendor still holds the stream open
    expect(Buffer.from(first.value as Buffer).toString()).toBe('data: first\n\n')
    releaseSse()
    let rest = ''
    for (let n = await it.next(); n.done !== true; n = await it.next()) rest += Buffer.from(n.value as Buffer).toString()
    expect(rest).toBe('data: last\n\n')
    await eventually(() => requestLines(sluice).some(l => l.reqId === 'tls-sse'))
    expect(requestLines(sluice).find(l => l.reqId === 'tls-sse')).toMatchObject({ status: 200, vendor: 'stream' })
  })
})
