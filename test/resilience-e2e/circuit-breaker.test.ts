// The circuit breaker per vendor (SPEC section 4, circuitBreaker): it opens
// when failureRate of at least minimumRequests calls failed, answers 503
// circuit_open with Retry-After without touching the upstream, half-opens after
// openFor and lets exactly one probe through, whose outcome closes or re-opens
// it. failOn decides what counts. sluice_circuit_state follows: 0 → 2 → 1 → 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { sleep } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const BREAKER = 'circuitBreaker:\n  failureRate: 50%\n  minimumRequests: 5\n  window: 10s\n  openFor: 500ms\n'
const NO_RETRY = 'retry:\n  attempts: 1\n'

/** what the upstream answers next; `delayMs` holds the answer back */
let answer = { status: 503, delayMs: 0 }
let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((_req, res) => {
    const { status, delayMs } = answer
    setTimeout(() => { res.statusCode = status; res.end(`status ${status}`) }, delayMs)
  })
  sluice = await startTestSluice({
    'flaky.yaml': `vendor: flaky\nupstream: ${up.url}\n${NO_RETRY}${BREAKER}`,
    'relapse.yaml': `vendor: relapse\nupstream: ${up.url}\n${NO_RETRY}${BREAKER}`,
    'notfound.yaml': `vendor: notfound\nupstream: ${up.url}\n${NO_RETRY}${BREAKER}`,
    'strict.yaml': `vendor: strict\nupstream: ${up.url}\n${NO_RETRY}${BREAKER}  failOn: [5xx, 429]\n`,
    // Retries do not count as calls: one call of 3 attempts is one failure.
    'retrying.yaml': `vendor: retrying\nupstream: ${up.url}\nretry:\n  attempts: 3\n  backoff: { initial: 1ms, max: 2ms }\n  budget: 1000%\n${BREAKER}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function call (vendor: string): Promise<{ status: number, error: string | undefined, retryAfter: string | undefined, body: string }> {
  const res = await request(`${sluice.url}/${vendor}/x`)
  return {
    status: res.statusCode,
    error: res.headers['x-sluice-error'] as string | undefined,
    retryAfter: res.headers['retry-after'] as string | undefined,
    body: await res.body.text(),
  }
}

function state (vendor: string): Promise<number | undefined> {
  return metricValue(sluice.adminUrl, 'sluice_circuit_state', { vendor })
}

async function untilState (vendor: string, want: number): Promise<void> {
  const end = Date.now() + 3000
  while (await state(vendor) !== want) {
    if (Date.now() > end) throw new Error(`circuit of ${vendor} never reached ${want}`)
    await sleep(20)
  }
}

describe('the circuit breaker', () => {
  it('opens after minimumRequests failures, refuses without the upstream, probes once after openFor, closes on success', async () => {
    const states: Array<number | undefined> = [await state('flaky')]
    answer = { status: 503, delayMs: 0 }
    up.seen.length = 0
    for (let i = 0; i < 4; i++) expect((await call('flaky')).status).toBe(503)
    // 4 of 4 failed, but 4 < minimumRequests: still closed.
    expect(await state('flaky')).toBe(0)
    const fifth = await call('flaky')
    expect(fifth).toMatchObject({ status: 503, error: undefined, body: 'status 503' })
    // The breaker hears the outcome just after the client got the response.
    await untilState('flaky', 2)
    states.push(2)
    expect(up.seen).toHaveLength(5)

    const refused = await call('flaky')
    expect(refused.status).toBe(503)
    expect(refused.error).toBe('circuit_open')
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'circuit_open', vendor: 'flaky' })
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1)
    expect(up.seen).toHaveLength(5)

    await untilState('flaky', 1)
    states.push(1)
    // The vendor is back but slow: three calls at once, only the probe reaches it.
    answer = { status: 200, delayMs: 150 }
    const all = await Promise.all([call('flaky'), call('flaky'), call('flaky')])
    expect(up.seen).toHaveLength(6)
    const passed = all.filter(r => r.status === 200)
    const held = all.filter(r => r.error === 'circuit_open')
    expect(passed).toHaveLength(1)
    expect(held).toHaveLength(2)
    for (const r of held) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)

    await untilState('flaky', 0)
    states.push(0)
    expect(states).toEqual([0, 2, 1, 0])
    expect((await call('flaky')).status).toBe(200)
    expect(up.seen).toHaveLength(7)
  })

  it('a failed probe opens it again for another openFor', async () => {
    answer = { status: 503, delayMs: 0 }
    for (let i = 0; i < 5; i++) await call('relapse')
    await untilState('relapse', 2)
    await untilState('relapse', 1)
    up.seen.length = 0
    expect((await call('relapse')).body).toBe('status 503')
    await untilState('relapse', 2)
    expect((await call('relapse')).error).toBe('circuit_open')
    expect(up.seen).toHaveLength(1)
  })

  it('4xx answers do not count by default (failOn: [5xx, timeout, connect-error])', async () => {
    answer = { status: 404, delayMs: 0 }
    up.seen.length = 0
    for (let i = 0; i < 8; i++) expect((await call('notfound')).status).toBe(404)
    expect(up.seen).toHaveLength(8)
    expect(await state('notfound')).toBe(0)
  })

  it('a status listed in failOn counts: 429s open a breaker with failOn [5xx, 429]', async () => {
    answer = { status: 429, delayMs: 0 }
    for (let i = 0; i < 5; i++) expect((await call('strict')).status).toBe(429)
    await untilState('strict', 2)
    expect((await call('strict')).error).toBe('circuit_open')
  })

  it('counts calls, not attempts: 4 calls of 3 attempts each leave it closed', async () => {
    answer = { status: 503, delayMs: 0 }
    up.seen.length = 0
    for (let i = 0; i < 4; i++) await call('retrying')
    expect(up.seen).toHaveLength(12)
    expect(await state('retrying')).toBe(0)
    await call('retrying')
    await untilState('retrying', 2)
  })
})
