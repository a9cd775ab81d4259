// sluice's own 413 to an upload over limits.body reaches the client, whichever
// way it sends: a client that asks first (Expect: 100-continue) gets the 413
// instead of a 100 and never sends its body; one that sends at once, or
// streams a chunked body that grows past the limit, gets the 413 and can
// finish sending without EPIPE or a reset, because sluice reads and drops the
// rest of the body rather than closing the connection under it. The races involved show up only in some
// tries, so each case runs many times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, request as httpRequest, type ClientRequest } from 'node:http'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

const ROUNDS = 30
const LIMIT = 64 * 1024
const BIG = Buffer.alloc(2 * 1024 * 1024, 'x')

let vendor: Upstream
let sluice: TestSluice
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

beforeAll(async () => {
  vendor = await startUpstream((_req, res, body) => res.end(`got ${body.length}`))
  sluice = await startTestSluice({
    'v.yaml': `vendor: v\nupstream: ${vendor.url}\nlimits:\n  body: 64kb\nretry:\n  maxBufferedBody: 16kb\ncircuitBreaker:\n  enabled: false\n`,
  })
})
afterAll(async () => {
  agent.destroy()
  await sluice.stop()
  await vendor.close()
})

interface Answer {
  status: number
  code: string | undefined
  body: string
  /** a 100 Continue came before the answer */
  continued: boolean
}

/** Resolves with the answer, or rejects with the client's error (EPIPE, ECONNRESET, ...). */
function answer (req: ClientRequest, state: { continued: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['x-sluice-error'] as string | undefined, body: Buffer.concat(chunks).toString(), continued: state.continued }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/**
 * Writes `body` a piece at a time, each once the last has gone out, as a
 * client streaming a file does, and ends the request. Resolves with the
 * client's write error, if any: a server that closes while the client is still
 * sending makes it EPIPE or ECONNRESET.
 */
function sendSlowly (req: ClientRequest, body: Buffer): Promise<string | undefined> {
  return new Promise(resolve => {
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)))
    req.on('finish', () => resolve(undefined))
    let off = 0
    const next = (): void => {
      if (off >= body.length) { req.end(); return }
      const piece = body.subarray(off, off + 32 * 1024)
      off += piece.length
      req.write(piece, () => setImmediate(next))
    }
    next()
  })
}

/** A POST that waits for 100 Continue before sending `body`. */
function askFirst (path: string, body: Buffer, reqId: string): Promise<Answer> {
  const state = { continued: false }
  const req = httpRequest(`${sluice.url}${path}`, {
    method: 'POST',
    agent,
    headers: { 'content-length': body.length, expect: '100-continue', 'x-request-id': reqId },
  })
  req.on('continue', () => {
    state.continued = true
    req.end(body)
  })
  req.flushHeaders()
  return answer(req, state)
}

describe('Expect: 100-continue', () => {
  it('a declared body over limits.body gets 413 and no 100: the body is never sent', async () => {
    const seen = vendor.seen.length
    for (let i = 0; i < 5; i++) {
      const got = await askFirst('/v/upload', BIG, `continue-413-${i}`)
      expect(got).toMatchObject({ status: 413, code: 'payload_too_large', continued: false })
    }
    expect(vendor.seen.length).toBe(seen)
    await eventually(() => requestLines(sluice).filter(l => String(l.reqId).startsWith('continue-413-')).length === 5)
    for (const line of requestLines(sluice).filter(l => String(l.reqId).startsWith('continue-413-'))) {
      expect(line).toMatchObject({ status: 413, error: 'payload_too_large' })
    }
  })

  it('a chunked body that grows past the limit after its 100 gets the 413, and is read to its end', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const state = { continued: false }
      const req = httpRequest(`${sluice.url}/v/upload`, { method: 'POST', agent, headers: { expect: '100-continue' } })
      let sent: Promise<string | undefined> | undefined
      req.on('continue', () => {
        state.continued = true
        sent = sendSlowly(req, BIG)
      })
      req.flushHeaders()
      await expect(answer(req, state), `round ${i}`).resolves.toMatchObject({ status: 413, code: 'payload_too_large', continued: true })
      expect(await sent, `round ${i}: the client's upload`).toBeUndefined()
    }
  })

  it('a body within the limit gets its 100, then goes through', async () => {
    const got = await askFirst('/v/upload', Buffer.alloc(LIMIT, 'y'), 'continue-ok')
    expect(got).toMatchObject({ status: 200, body: `got ${LIMIT}`, continued: true })
  })
})

describe('a client that sends its body at once', () => {
  it('gets the 413 to a declared Content-Length over the limit, and sends its whole body without a reset', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const req = httpRequest(`${sluice.url}/v/upload`, { method: 'POST', agent, headers: { 'content-length': BIG.length } })
      const got = answer(req, { continued: false })
      const sent = sendSlowly(req, BIG)
      await expect(got, `round ${i}`).resolves.toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(await sent, `round ${i}: the client's upload`).toBeUndefined()
    }
  })

  it('gets the 413 to a chunked body that grows past the limit midway, and sends its whole body without a reset', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const req = httpRequest(`${sluice.url}/v/upload`, { method: 'POST', agent })
      const got = answer(req, { continued: false })
      const sent = sendSlowly(req, BIG)
      await expect(got, `round ${i}`).resolves.toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(await sent, `round ${i}: the client's upload`).toBeUndefined()
    }
  })

  it('and its connection then serves its next request', async () => {
    const req = httpRequest(`${sluice.url}/v/upload`, { method: 'POST', agent, headers: { 'content-length': BIG.length } })
    const got = answer(req, { continued: false })
    req.end(BIG)
    await expect(got).resolves.toMatchObject({ status: 413 })
    const next = httpRequest(`${sluice.url}/v/small`, { method: 'POST', agent, headers: { 'content-length': 2 } })
    const small = answer(next, { continued: false })
    next.end('hi')
    await expect(small).resolves.toMatchObject({ status: 200, body: 'got 2' })
    expect(next.reusedSocket).toBe(true)
  })
})
