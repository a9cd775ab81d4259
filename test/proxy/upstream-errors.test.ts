// Every upstream failure becomes one of the contract's answers (SPEC section 3),
// with the JSON body and x-sluice-error, and nothing internal in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:net'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { startBlackhole, type Blackhole } from '../helpers/blackhole.js'
import { eventually } from '../helpers/wait.js'

let silent: Upstream
let slow503: Upstream
let slowBody: Upstream
let cut: Upstream
let hole: Blackhole
let refusedPort: number
let sluice: TestSluice

const NO_RETRY = 'retry:\n  attempts: 1\n'

beforeAll(async () => {
  silent = await startUpstream(() => { /* never answers */ })
  slow503 = await startUpstream((_req, res) => { setTimeout(() => { res.statusCode = 503; res.end() }, 150) })
  slowBody = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('partial ')
    // ... and nothing more: the read timeout between body chunks, or the total deadline, ends it
  })
  cut = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': '1000' })
    res.write('x'.repeat(500))
    setTimeout(() => res.destroy(), 20)
  })
  hole = await startBlackhole()
  const probe: Server = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  refusedPort = (probe.address() as { port: number }).port
  await new Promise<void>(resolve => probe.close(() => resolve()))

  sluice = await startTestSluice({
    'refused.yaml': `vendor: refused\nupstream: http://127.0.0.1:${refusedPort}\n${NO_RETRY}`,
    'hole.yaml': `vendor: hole\nupstream: http://127.0.0.1:${hole.port}\ntimeouts:\n  connect: 300ms\n${NO_RETRY}`,
    'silent.yaml': `vendor: silent\nupstream: ${silent.url}\ntimeouts:\n  read: 300ms\n${NO_RETRY}`,
    // Each attempt takes 150 ms to fail; retries go on until the 400 ms deadline cuts the third.
    'deadline.yaml': `vendor: deadline\nupstream: ${slow503.url}\ntimeouts:\n  read: 300ms\n  total: 400ms\nretry:\n  attempts: 5\n  budget: 1000%\n  backoff: { initial: 1ms, max: 1ms }\n`,
    'privateok.yaml': `vendor: privateok\nupstream: http://localhost:${slow503.port}\nnetwork:\n  allowPrivate: true\n${NO_RETRY}`,
    'slowbody.yaml': `vendor: slowbody\nupstream: ${slowBody.url}\ntimeouts:\n  read: 300ms\n${NO_RETRY}`,
    'cut.yaml': `vendor: cut\nupstream: ${cut.url}\n${NO_RETRY}`,
    'private.yaml': `vendor: private\nupstream: http://localhost:${silent.port}\n${NO_RETRY}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await silent.close()
  await slow503.close()
  await slowBody.close()
  await cut.close()
  hole.close()
})

async function expectError (path: string, status: number, code: string, vendor: string): Promise<{ message: string }> {
  const res = await request(`${sluice.url}${path}`)
  expect(res.statusCode).toBe(status)
  expect(res.headers['x-sluice-error']).toBe(code)
  const text = await res.body.text()
  const body = JSON.parse(text) as { error: string, message: string, vendor: string, requestId: string }
  expect(body).toEqual({ error: code, message: expect.any(String), vendor, requestId: res.headers['x-request-id'] })
  // Never a stack, an internal address or a raw library message.
  expect(text).not.toMatch(/127\.0\.0\.1|localhost|ECONN|UND_ERR|at .*\.js|Error:/)
  return body
}

describe('upstream failures', () => {
  it('a refused connection is 502 upstream_unreachable', async () => {
    await expectError('/refused/x', 502, 'upstream_unreachable', 'refused')
  })

  it('a connection that never completes is 504 upstream_timeout naming the connect phase', async () => {
    const body = await expectError('/hole/x', 504, 'upstream_timeout', 'hole')
    expect(body.message).toMatch(/^connect timeout/)
  })

  it('no response headers within timeouts.read is 504 naming the read phase', async () => {
    const body = await expectError('/silent/x', 504, 'upstream_timeout', 'silent')
    expect(body.message).toMatch(/^read timeout/)
  })

  it('timeouts.total cuts the whole call and says so', async () => {
    const body = await expectError('/deadline/x', 504, 'upstream_timeout', 'deadline')
    expect(body.message).toMatch(/^total deadline/)
  })

  it('a host name resolving to loopback is 403 forbidden_destination, unless allowPrivate', async () => {
    await expectError('/private/x', 403, 'forbidden_destination', 'private')
    const ok = await request(`${sluice.url}/privateok/x`)
    expect(ok.statusCode).toBe(503)
    expect(ok.headers['x-sluice-error']).toBeUndefined()
    await ok.body.dump()
  })
})

describe('a response cut off midway', () => {
  it('reaches the client as cut off, never as complete', async () => {
    const res = await request(`${sluice.url}/cut/x`)
    expect(res.statusCode).toBe(200)
    await expect(res.body.text()).rejects.toThrow()
    await eventually(() => requestLines(sluice).some(l => l.vendor === 'cut'))
    expect(requestLines(sluice).find(l => l.vendor === 'cut')).toMatchObject({ status: 200, cutOff: true })
  })

  it('a body that stalls past timeouts.read is cut off too', async () => {
    const res = await request(`${sluice.url}/slowbody/x`)
    expect(res.statusCode).toBe(200)
    await expect(res.body.text()).rejects.toThrow()
  })
})
