// Bodies that stream through sluice (SPEC section 5, logging.bodies): a
// request body too large to keep for replay, and a server-sent-events
// response, are still logged (scrubbed, cut at maxBodyBytes), captured on the
// way without holding the stream back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

const MAX = 512
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

let up: Upstream
let sse: Upstream
let sluice: TestSluice
let releaseSse: () => void = () => {}

beforeAll(async () => {
  up = await startUpstream((_req, res, body) => {
    res.setHeader('x-got-sha', sha(body))
    res.end('ok')
  })
  sse = await startUpstream(undefined, {
    streaming: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: {"email":"first@example.com"}\n\n')
      releaseSse = () => { res.end('data: {"ssn":"078-05-1120"}\n\n') }
    },
  })
  const logging = `logging:\n  bodies: true\n  maxBodyBytes: ${MAX}b\n`
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\nretry:\n  maxBufferedBody: 1kb\n${logging}`,
    'events.yaml': `vendor: events\nupstream: ${sse.url}\n${logging}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
  await sse.close()
})

describe('a request body streamed to the vendor (over the replay buffer)', () => {
  it('is logged scrubbed and cut at maxBodyBytes, and reaches the vendor intact', async () => {
    const head = 'email=jane.doe%40example.com&password=hunter2-horse&card=4111111111111111&blob='
    const sent = Buffer.concat([Buffer.from(head), Buffer.from(randomBytes(32 * 1024).toString('hex'))])
    const res = await request(`${sluice.url}/acme/v1/upload`, {
      method: 'POST',
      body: sent,
      headers: { 'x-request-id': 'streamed-1', 'content-type': 'application/x-www-form-urlencoded' },
    })
    await res.body.dump()
    expect(res.headers['x-got-sha']).toBe(sha(sent))
    await eventually(() => requestLines(sluice).some(l => l.reqId === 'streamed-1'))
    const line = requestLines(sluice).find(l => l.reqId === 'streamed-1')!
    const reqBody = line.reqBody as string
    expect(reqBody.startsWith('email=[REDACTED:email]&password=[REDACTED]&card=[REDACTED:card]&blob=')).toBe(true)
    expect(reqBody.length).toBeLessThanOrEqual(MAX + 50)
    for (const v of ['jane.doe', 'hunter2-horse', '4111111111111111']) expect(reqBody).not.toContain(v)
  })
})

describe('a server-sent-events response', () => {
  it('reaches the client event by event while its body is captured, then is logged scrubbed', async () => {
    const res = await request(`${sluice.url}/events/v1/stream`, { headers: { 'x-request-id': 'sse-1' } })
    const chunks: string[] = []
    const it = res.body[Symbol.asyncIterator]()
    const first = await it.next()
    chunks.push(Buffer.from(first.value as Buffer).toString())
    // The first event arrived before the vendor finished: nothing was held back.
    expect(chunks[0]).toContain('first@example.com')
    releaseSse()
    for (let next = await it.next(); next.done !== true; next = await it.next()) chunks.push(Buffer.from(next.value as Buffer).toString())
    expect(chunks.join('')).toBe('data: {"email":"first@example.com"}\n\ndata: {"ssn":"078-05-1120"}\n\n')
    await eventually(() => requestLines(sluice).some(l => l.reqId === 'sse-1'))
    const line = requestLines(sluice).find(l => l.reqId === 'sse-1')!
    expect(line.resBody).toBe('data: {"email":"[REDACTED:email]"}\n\ndata: {"ssn":"[REDACTED:ssn]"}\n\n')
  })
})
