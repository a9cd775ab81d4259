// A refused connection means the vendor never saw the request, so even a POST
// without an idempotency key is tried again (wasNeverSent): nothing can be
// sent twice that was never sent once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { createServer } from 'node:http'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { startBlackhole, type Blackhole } from '../helpers/blackhole.js'
import { lineOf } from './helpers.js'
import { eventually, freePort } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const NO_BREAKER = 'circuitBreaker:\n  enabled: false\n'

let refusedPort: number
let latePort: number
let late: LateUpstream | undefined
let hole: Blackhole
let sluice: TestSluice

beforeAll(async () => {
  refusedPort = await freePort()
  latePort = await freePort()
  hole = await startBlackhole()
  sluice = await startTestSluice({
    'refused.yaml': `vendor: refused\nupstream: http://127.0.0.1:${refusedPort}\nretry:\n  attempts: 3\n  backoff: { initial: 5ms, max: 5ms, jitter: none }\n  budget: 1000%\n${NO_BREAKER}`,
    // A fixed 1 s pause between attempts: time enough to open the port once the first is refused.
    'late.yaml': `vendor: late\nupstream: http://127.0.0.1:${latePort}\nretry:\n  attempts: 3\n  backoff: { initial: 1s, max: 1s, jitter: none }\n  budget: 1000%\n${NO_BREAKER}`,
    // undici checks connect timeouts on a coarse clock: 200 ms fires after about 1 s.
    'hole.yaml': `vendor: hole\nupstream: http://127.0.0.1:${hole.port}\ntimeouts:\n  connect: 200ms\nretry:\n  attempts: 2\n  backoff: { initial: 5ms, max: 5ms }\n  budget: 1000%\n${NO_BREAKER}`,
    'once.yaml': `vendor: once\nupstream: http://127.0.0.1:${refusedPort}\nretry:\n  attempts: 3\n  on: [503]\n  backoff: { initial: 5ms, max: 5ms, jitter: none }\n${NO_BREAKER}`,
  })
})
afterEach(async () => {
  await late?.close()
  late = undefined
})
afterAll(async () => {
  await sluice.stop()
  hole.close()
})

interface LateUpstream {
  seen: Array<{ method: string, url: string, body: Buffer }>
  close (): Promise<void>
}

/** An upstream on a given port (the policy's), answering 200 "created". */
async function listenOn (port: number): Promise<LateUpstream> {
  const seen: LateUpstream['seen'] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks) })
      res.end('created')
    })
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  return {
    seen,
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

describe('a refused connection', () => {
  it('a POST without a key is tried retry.attempts times, then 502 upstream_unreachable', async () => {
    const before = await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'refused', kind: 'connect' }) ?? 0
    const res = await request(`${sluice.url}/refused/v1/charges`, { method: 'POST', body: '{"a":1}', headers: { 'x-request-id': 'refused-post' } })
    expect(res.statusCode).toBe(502)
    expect(res.headers['x-sluice-error']).toBe('upstream_unreachable')
    await res.body.dump()
    await eventually(() => lineOf(requestLines(sluice), 'refused-post') !== undefined)
    expect(lineOf(requestLines(sluice), 'refused-post')).toMatchObject({ attempts: 3, error: 'upstream_unreachable' })
    expect(await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'refused', kind: 'connect' })).toBe(before + 3)
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'refused', reason: 'connect-error' })).toBeGreaterThanOrEqual(2)
  })

  it('a POST without a key reaches a vendor that starts listening between attempts, exactly once and whole', async () => {
    const refusedBefore = await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'late', kind: 'connect' }) ?? 0
    const pending = request(`${sluice.url}/late/v1/charges`, {
      method: 'POST',
      body: '{"amount":5}',
      headers: { 'content-type': 'application/json', 'x-request-id': 'late-post' },
    })
    // The port opens once the first attempt has been refused (counted), not after a guessed pause.
    const end = Date.now() + 5000
    while ((await metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor: 'late', kind: 'connect' }) ?? 0) === refusedBefore) {
      if (Date.now() > end) throw new Error('the first attempt was never refused')
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    late = await listenOn(latePort)
    const res = await pending
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('created')
    expect(late.seen).toHaveLength(1)
    expect(late.seen[0]).toMatchObject({ method: 'POST', url: '/v1/charges' })
    expect(late.seen[0]?.body.toString()).toBe('{"amount":5}')
    await eventually(() => lineOf(requestLines(sluice), 'late-post') !== undefined)
    // attempt 2 normally; 3 if the machine took longer than the backoff to open the port
    expect(lineOf(requestLines(sluice), 'late-post')).toMatchObject({ status: 200 })
    expect(lineOf(requestLines(sluice), 'late-post')?.attempts).toBeGreaterThanOrEqual(2)
  })

  it('is not retried when retry.on leaves out connect-error', async () => {
    const res = await request(`${sluice.url}/once/x`, { headers: { 'x-request-id': 'once-get' } })
    expect(res.statusCode).toBe(502)
    await res.body.dump()
    await eventually(() => lineOf(requestLines(sluice), 'once-get') !== undefined)
    expect(lineOf(requestLines(sluice), 'once-get')).toMatchObject({ attempts: 1, error: 'upstream_unreachable' })
  })

  it('a connect timeout is never sent either: a POST without a key is tried again, then 504 naming the connect phase', async () => {
    const res = await request(`${sluice.url}/hole/v1/charges`, { method: 'POST', body: '{}', headers: { 'x-request-id': 'hole-post' } })
    expect(res.statusCode).toBe(504)
    expect((await res.body.json() as { message: string }).message).toMatch(/^connect timeout/)
    await eventually(() => lineOf(requestLines(sluice), 'hole-post') !== undefined)
    expect(lineOf(requestLines(sluice), 'hole-post')).toMatchObject({ attempts: 2, error: 'upstream_timeout' })
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'hole', reason: 'timeout' })).toBe(1)
  })
})
