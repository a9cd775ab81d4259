// A vendor that answers before it has read the request body (a 401 or 413 to
// a large upload, then Connection: close) has that answer relayed: status,
// headers and body, never a 502. The body here is over retry.maxBufferedBody,
// so it streams and the vendor's close races sluice's writes: the test runs
// many times, since a wrong answer shows up only in some of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

const ROUNDS = 30
const BODY = Buffer.alloc(2 * 1024 * 1024, 'x')

let vendor: Upstream
let sluice: TestSluice

beforeAll(async () => {
  vendor = await startUpstream(() => {}, {
    // Answers at once, reads nothing of the body, closes the connection.
    streaming: (req, res) => {
      if (req.url === '/in-two') {
        // Headers and the start of the body now, the rest a moment later.
        res.writeHead(401, { 'content-type': 'application/json', 'x-vendor': 'yes', connection: 'close' })
        res.write('{"error":')
        setImmediate(() => res.end('"bad key"}'))
        return
      }
      const status = req.url === '/too-big' ? 413 : 401
      const body = JSON.stringify({ error: status === 401 ? 'bad key' : 'too big' })
      res.writeHead(status, { 'content-type': 'application/json', 'x-vendor': 'yes', 'content-length': Buffer.byteLength(body), connection: 'close' })
      res.end(body)
    },
  })
  sluice = await startTestSluice({
    'v.yaml': `vendor: v\nupstream: ${vendor.url}\nlimits:\n  body: 10mb\nretry:\n  maxBufferedBody: 64kb\ncircuitBreaker:\n  enabled: false\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await vendor.close()
})

/** A node:http POST of BODY; resolves with the answer, or the client error. */
function post (url: string, reqId: string): Promise<{ status: number, headers: IncomingMessage['headers'], body: string } | { error: string }> {
  return new Promise(resolve => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-length': BODY.length, 'x-request-id': reqId } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', (err) => resolve({ error: String(err) }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? String(err) }))
    req.end(BODY)
  })
}

describe('a vendor that answers before reading a streamed upload', () => {
  it('its 401 reaches the client every time (node:http client)', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const got = await post(`${sluice.url}/v/upload`, `early-401-${i}`)
      expect(got, `round ${i}`).toMatchObject({ status: 401, body: '{"error":"bad key"}' })
      if ('headers' in got) {
        expect(got.headers['x-vendor']).toBe('yes')
        expect(got.headers['x-sluice-error']).toBeUndefined()
      }
    }
    await eventually(() => requestLines(sluice).filter(l => String(l.reqId).startsWith('early-401-')).length === ROUNDS)
    for (const line of requestLines(sluice).filter(l => String(l.reqId).startsWith('early-401-'))) {
      expect(line).toMatchObject({ status: 401, attempts: 1 })
      expect(line.error).toBeUndefined()
    }
  })

  it('an answer whose body comes after its headers is relayed whole, every time', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const got = await post(`${sluice.url}/v/in-two`, `early-in-two-${i}`)
      expect(got, `round ${i}`).toMatchObject({ status: 401, body: '{"error":"bad key"}' })
    }
  })

  it('its 413 reaches the client every time (undici client)', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const res = await request(`${sluice.url}/v/too-big`, { method: 'PUT', body: BODY, headers: { 'x-request-id': `early-413-${i}` } })
      expect(res.statusCode, `round ${i}`).toBe(413)
      expect(res.headers['x-sluice-error']).toBeUndefined()
      expect(await res.body.text()).toBe('{"error":"too big"}')
    }
    await eventually(() => requestLines(sluice).filter(l => String(l.reqId).startsWith('early-413-')).length === ROUNDS)
    for (const line of requestLines(sluice).filter(l => String(l.reqId).startsWith('early-413-'))) {
      expect(line).toMatchObject({ status: 413 })
      expect(line.error).toBeUndefined()
    }
  })
})
