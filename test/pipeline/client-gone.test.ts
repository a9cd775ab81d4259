// A client gone before sluice answered is logged with status 499 and
// error "client_gone", whichever stage noticed it (waiting for the vendor,
// reading the request body), and counted under status 499.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let up: Upstream
let sluice: TestSluice
const held: Array<() => void> = []

beforeAll(async () => {
  up = await startUpstream((_req, res) => { held.push(() => res.end('late')) })
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  for (const release of held) release()
  await sluice.stop()
  await up.close()
})

/** Opens a connection, writes `text`, and returns a function that hangs up. */
async function open (text: string): Promise<() => void> {
  const url = new URL(sluice.url)
  const socket = connect(Number(url.port), url.hostname)
  socket.on('error', () => {})
  await new Promise<void>(resolve => socket.write(text, () => resolve()))
  return () => socket.destroy()
}

async function lineOf (reqId: string): Promise<Record<string, unknown>> {
  await eventually(() => requestLines(sluice).some(l => l.reqId === reqId), { timeout: 5000 })
  return requestLines(sluice).find(l => l.reqId === reqId) as Record<string, unknown>
}

describe('a client gone before the answer', () => {
  it('while the vendor is still answering: 499 client_gone', async () => {
    const before = await metricValue(sluice.adminUrl, 'sluice_requests_total', { vendor: 'v', method: 'GET', status: '499' }) ?? 0
    const seen = up.seen.length
    const hangUp = await open('GET /v/slow HTTP/1.1\r\nHost: localhost\r\nx-request-id: gone-1\r\n\r\n')
    await eventually(() => up.seen.length > seen, { timeout: 5000 })
    hangUp()
    expect(await lineOf('gone-1')).toMatchObject({ status: 499, error: 'client_gone', clientGone: true })
    expect(await metricValue(sluice.adminUrl, 'sluice_requests_total', { vendor: 'v', method: 'GET', status: '499' })).toBe(before + 1)
  })

  it('in the middle of its request body: 499 client_gone', async () => {
    const hangUp = await open('POST /v/upload HTTP/1.1\r\nHost: localhost\r\nx-request-id: gone-2\r\nContent-Length: 10\r\n\r\nabc')
    // the body read has begun once sluice holds the call; give it the chance to be inside it
    await eventually(() => sluice.sluice.runtime.inFlight > 0, { timeout: 5000 })
    hangUp()
    expect(await lineOf('gone-2')).toMatchObject({ status: 499, error: 'client_gone' })
  })
})
