// A call the circuit breaker refuses is never sent, so it takes nothing from
// the vendor's buckets (shared by every replica through Redis): an open
// breaker cannot drain the daily quota, and the half-open probe finds its
// token and is sent instead of being answered 429.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, metric, rateLimitedPolicy, startStoreSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

// Two failures open the breaker; it half-opens 2 s later.
const BREAKER = `
circuitBreaker:
  failureRate: 50%
  minimumRequests: 2
  window: 30s
  openFor: 2s
`
// Four calls a day: two open the breaker, one is the probe, one is left.
const DAILY = `
buckets:
  - name: daily
    capacity: 4
    refill: 4/day
    onLimit: reject
`

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let status = 503
  let s: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream((_req, res) => { res.statusCode = status; res.end(String(status)) })
    // rateLimitedPolicy turns the breaker off; the later circuitBreaker block wins.
    const text = rateLimitedPolicy('tripped', up.url, DAILY, { extra: BREAKER }).replace('circuitBreaker:\n  enabled: false\n', '')
    s = await startStoreSluice({ 'tripped.yaml': text }, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await up?.close()
    await redis?.stop()
  })

  it('refuses calls while open without taking tokens, and sends the half-open probe', async () => {
    for (let i = 0; i < 2; i++) expect((await call(`${s.url}/tripped/x`)).status).toBe(503)
    await eventually(async () => await metric(s, 'sluice_circuit_state', { vendor: 'tripped' }) === 2, { timeout: 5000, what: 'breaker open' })
    status = 200
    // Each of these would take one of the two tokens left, then be answered 429.
    for (let i = 0; i < 5; i++) {
      const refused = await call(`${s.url}/tripped/x`)
      expect(refused.headers['x-sluice-error']).toBe('circuit_open')
    }
    expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor: 'tripped', decision: 'rejected' })).toBe(0)
    await eventually(async () => await metric(s, 'sluice_circuit_state', { vendor: 'tripped' }) === 1, { timeout: 10_000, what: 'breaker half-open' })

    const probe = await call(`${s.url}/tripped/probe`)
    expect(probe.status).toBe(200)
    expect(up.seen.filter(r => r.url === '/probe')).toHaveLength(1)
    await eventually(async () => await metric(s, 'sluice_circuit_state', { vendor: 'tripped' }) === 0, { timeout: 5000, what: 'breaker closed' })
    // Exactly one token left of the four: the refused calls took none.
    expect((await call(`${s.url}/tripped/x`)).status).toBe(200)
    const over = await call(`${s.url}/tripped/x`)
    expect(over.status).toBe(429)
    expect(over.headers['x-sluice-error']).toBe('rate_limited')
  })
})
