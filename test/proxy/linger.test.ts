// After answering a request whose body is still arriving, sluice reads and
// drops the rest, but not forever: a client that keeps sending past
// LINGER_BYTES, or sends nothing more for LINGER_MS, has its connection closed
// once it has had the answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { parseResponse } from '../helpers/raw.js'
import { LINGER_BYTES, LINGER_MS } from '../../src/proxy/linger.js'

let vendor: Upstream
let sluice: TestSluice

beforeAll(async () => {
  vendor = await startUpstream()
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${vendor.url}\nlimits:\n  body: 1kb\n` })
})
afterAll(async () => {
  await sluice.stop()
  await vendor.close()
})

interface Outcome { answer: string, sent: number, closed: boolean }

/** Sends the head of a POST declaring `declared` body bytes, then `pump` decides what else to send. */
function post (declared: number, pump: (socket: Socket, counter: { sent: number }) => void): Promise<Outcome> {
  const url = new URL(sluice.url)
  return new Promise(resolve => {
    const socket = connect(Number(url.port), url.hostname)
    const counter = { sent: 0 }
    let answer = ''
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1') })
    socket.on('error', () => {})
    socket.on('close', () => resolve({ answer, sent: counter.sent, closed: true }))
    socket.write(`POST /v/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${declared}\r\n\r\n`)
    pump(socket, counter)
  })
}

describe('lingering after an answer', () => {
  it('closes a connection that keeps sending past LINGER_BYTES, after the 413', async () => {
    const declared = LINGER_BYTES * 4
    const piece = Buffer.alloc(256 * 1024, 'z')
    const got = await post(declared, (socket, counter) => {
      const next = (): void => {
        if (socket.destroyed || counter.sent >= declared) return
        counter.sent += piece.length
        socket.write(piece, () => setImmediate(next))
      }
      next()
    })
    expect(parseResponse(got.answer).status).toBe(413)
    expect(got.closed).toBe(true)
    // The declared body was never sent whole: sluice stopped reading.
    expect(got.sent).toBeLessThan(declared)
  })

  it(`closes a connection that sends nothing more, after LINGER_MS (${LINGER_MS} ms)`, async () => {
    const got = await post(LINGER_BYTES, () => {})
    expect(parseResponse(got.answer).status).toBe(413)
    expect(got.closed).toBe(true)
  }, LINGER_MS + 15_000)
})
