// Pipelined requests on one connection, a well-formed POST followed by a
// malformed request: the POST is forwarded once and its answer reaches the
// client, then the malformed request is refused. The POST's log line says what
// really happened, so a client never retries (and pays for) a call that was made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { parseResponse, rawRequest } from '../helpers/raw.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((req, res, body) => {
    res.setHeader('content-type', 'text/plain')
    const answer = (): void => { res.end(`charged ${req.method} ${body.toString()}`) }
    // The GET is answered only once sluice is done with the POST: the refusal
    // must wait for every call before it, not only the first.
    if (req.method === 'GET') eventually(() => requestLines(sluice).some(l => l.reqId === 'pipe-post'), { timeout: 5000 }).then(answer, answer)
    else answer()
  })
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

/** Splits a stream of HTTP/1.1 responses, each framed by Content-Length. */
function responses (raw: string): ReturnType<typeof parseResponse>[] {
  const out = []
  let rest = raw
  while (rest.startsWith('HTTP/1.1 ')) {
    const head = rest.indexOf('\r\n\r\n')
    const first = parseResponse(rest.slice(0, head + 4))
    const end = head + 4 + Number(first.headers['content-length'] ?? 0)
    out.push(parseResponse(rest.slice(0, end)))
    rest = rest.slice(end)
  }
  return out
}

describe('pipelined requests before a malformed one', () => {
  it('answers the POST with the vendor\'s answer, forwards it once, then refuses the malformed request', async () => {
    const post = 'POST /v/charges HTTP/1.1\r\nHost: localhost\r\nx-request-id: pipe-post\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\namt=5'
    const get = 'GET /v/list HTTP/1.1\r\nHost: localhost\r\nx-request-id: pipe-get\r\n\r\n'
    const bad = 'GET /v/x HTTP/1.1\r\nHost: localhost\r\nX A: b\r\n\r\n'
    const res = await rawRequest(sluice.url, post + get + bad)
    const [first, second, third, ...more] = responses(res.raw)
    expect(first?.status).toBe(200)
    expect(first?.body).toBe('charged POST amt=5')
    expect(first?.headers['x-request-id']).toBe('pipe-post')
    expect(second?.status).toBe(200)
    expect(second?.headers['x-request-id']).toBe('pipe-get')
    expect(third?.status).toBe(400)
    expect(third?.headers['x-sluice-error']).toBe('bad_request')
    expect(JSON.parse(third?.body ?? '')).toMatchObject({ error: 'bad_request' })
    expect(more).toEqual([])
    expect(up.seen.filter(r => r.method === 'POST')).toHaveLength(1)

    await eventually(() => requestLines(sluice).some(l => l.reqId === third?.headers['x-request-id']))
    const lines = requestLines(sluice)
    expect(lines.find(l => l.reqId === 'pipe-post')).toMatchObject({ vendor: 'v', method: 'POST', status: 200 })
    expect(lines.find(l => l.reqId === 'pipe-post')).not.toHaveProperty('error')
    expect(lines.find(l => l.reqId === 'pipe-get')).toMatchObject({ status: 200 })
    expect(lines.find(l => l.reqId === third?.headers['x-request-id'])).toMatchObject({ status: 400, error: 'bad_request', method: '-' })
  })
})
