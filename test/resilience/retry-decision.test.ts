import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  idempotencyKeyToAdd, isReplayable, newIdempotencyKey, retryDelay, shouldRetry, wasNeverSent,
  type AttemptOutcome,
} from '../../src/resilience/retry-decision.js'
import { replayPolicy, retryPolicy } from './policies.js'

const noHeaders = () => undefined
const withHeader = (name: string, value: string) => (n: string) => (n === name ? value : undefined)

describe('isReplayable', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])('%s is idempotent', (method) => {
    expect(isReplayable(method, noHeaders, replayPolicy())).toBe(true)
  })

  it.each(['POST', 'PATCH'])('%s without an idempotency key is not replayable', (method) => {
    expect(isReplayable(method, noHeaders, replayPolicy())).toBe(false)
  })

  it.each(['POST', 'PATCH'])('%s with the key header is replayable, looked up in lower case', (method) => {
    expect(isReplayable(method, withHeader('idempotency-key', 'k-1'), replayPolicy())).toBe(true)
  })

  it('reads the header the policy names', () => {
    const policy = replayPolicy({}, { header: 'X-Request-Key' })
    expect(isReplayable('POST', withHeader('idempotency-key', 'k-1'), policy)).toBe(false)
    expect(isReplayable('POST', withHeader('x-request-key', 'k-1'), policy)).toBe(true)
  })

  it('does not take an empty key', () => {
    expect(isReplayable('POST', withHeader('idempotency-key', ''), replayPolicy())).toBe(false)
  })

  it('replays anything when idempotentOnly is false', () => {
    expect(isReplayable('POST', noHeaders, replayPolicy({ idempotentOnly: false }))).toBe(true)
    expect(isReplayable('PATCH', noHeaders, replayPolicy({ idempotentOnly: false }))).toBe(true)
  })

  it('treats an unknown method as not idempotent', () => {
    expect(isReplayable('PROPFIND', noHeaders, replayPolicy())).toBe(false)
  })
})

describe('idempotency keys', () => {
  it('adds a key only for the generate methods, and only when the client sent none', () => {
    const policy = replayPolicy({}, { generate: ['POST'] })
    expect(idempotencyKeyToAdd('POST', false, policy)).toBe(true)
    expect(idempotencyKeyToAdd('POST', true, policy)).toBe(false)
    expect(idempotencyKeyToAdd('PATCH', false, policy)).toBe(false)
    expect(idempotencyKeyToAdd('POST', false, replayPolicy({}, { generate: [] }))).toBe(false)
  })

  it('makes fresh UUIDs', () => {
    const a = newIdempotencyKey()
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(newIdempotencyKey()).not.toBe(a)
  })
})

describe('shouldRetry', () => {
  const policy = retryPolicy({ on: ['connect-error', 'timeout', 429, 503] })
  const status = (s: number): AttemptOutcome => ({ kind: 'status', status: s })

  it('retries the listed statuses only', () => {
    expect(shouldRetry(status(429), policy)).toBe(true)
    expect(shouldRetry(status(503), policy)).toBe(true)
    expect(shouldRetry(status(502), policy)).toBe(false)
    expect(shouldRetry(status(500), policy)).toBe(false)
    expect(shouldRetry(status(200), policy)).toBe(false)
  })

  it('retries connect errors and timeouts of both phases when listed', () => {
    expect(shouldRetry({ kind: 'connect-error' }, policy)).toBe(true)
    expect(shouldRetry({ kind: 'timeout', phase: 'connect' }, policy)).toBe(true)
    expect(shouldRetry({ kind: 'timeout', phase: 'headers' }, policy)).toBe(true)
    const none = retryPolicy({ on: [503] })
    expect(shouldRetry({ kind: 'connect-error' }, none)).toBe(false)
    expect(shouldRetry({ kind: 'timeout', phase: 'connect' }, none)).toBe(false)
  })

  it('retries a reset when listed, or under connect-error', () => {
    expect(shouldRetry({ kind: 'reset' }, retryPolicy({ on: ['reset'] }))).toBe(true)
    expect(shouldRetry({ kind: 'reset' }, retryPolicy({ on: ['connect-error'] }))).toBe(true)
    expect(shouldRetry({ kind: 'reset' }, retryPolicy({ on: ['timeout', 503] }))).toBe(false)
  })
})

describe('wasNeverSent', () => {
  it('holds for connect errors and connect timeouts only', () => {
    expect(wasNeverSent({ kind: 'connect-error' })).toBe(true)
    expect(wasNeverSent({ kind: 'timeout', phase: 'connect' })).toBe(true)
    expect(wasNeverSent({ kind: 'timeout', phase: 'headers' })).toBe(false)
    expect(wasNeverSent({ kind: 'reset' })).toBe(false)
    expect(wasNeverSent({ kind: 'status', status: 503 })).toBe(false)
  })
})

describe('retryDelay', () => {
  const NOW = 1_000_000
  const FAR = NOW + 3_600_000
  const backoff = { initial: '1s', max: '10s', multiplier: 2, jitter: 'none' } as const
  const policy = retryPolicy({ backoff })

  it('is the backoff when the vendor says nothing', () => {
    expect(retryDelay(policy, 1, undefined, NOW, FAR)).toBe(1000)
    expect(retryDelay(policy, 3, undefined, NOW, FAR)).toBe(4000)
  })

  it('passes the random source to the jitter', () => {
    const full = retryPolicy({ backoff: { initial: '1s', max: '10s', multiplier: 2, jitter: 'full' } })
    expect(retryDelay(full, 2, undefined, NOW, FAR, () => 0.25)).toBe(500)
  })

  it('waits the longer of backoff and Retry-After', () => {
    expect(retryDelay(policy, 1, 5000, NOW, FAR)).toBe(5000)
    expect(retryDelay(policy, 3, 2000, NOW, FAR)).toBe(4000)
    expect(retryDelay(policy, 1, 0, NOW, FAR)).toBe(1000)
  })

  it('ignores Retry-After unless respectRetryAfter', () => {
    const deaf = retryPolicy({ backoff, respectRetryAfter: false })
    expect(retryDelay(deaf, 1, 5000, NOW, FAR)).toBe(1000)
  })

  it('refuses a wait that would reach the deadline', () => {
    expect(retryDelay(policy, 1, undefined, NOW, NOW + 1001)).toBe(1000)
    expect(retryDelay(policy, 1, undefined, NOW, NOW + 1000)).toBeUndefined()
    expect(retryDelay(policy, 1, 30_000, NOW, NOW + 10_000)).toBeUndefined()
    expect(retryDelay(policy, 1, undefined, NOW, NOW - 1)).toBeUndefined()
  })

  it('never returns a wait that reaches the deadline, whatever the inputs', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.option(fc.integer({ min: 0, max: 86_400_000 }), { nil: undefined }),
      fc.integer({ min: -1000, max: 60_000 }),
      fc.constantFrom('full', 'equal', 'none'),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (retryNumber, retryAfter, budgetMs, jitter, r) => {
        const p = retryPolicy({ backoff: { initial: '1s', max: '10s', multiplier: 2, jitter } })
        const d = retryDelay(p, retryNumber, retryAfter, NOW, NOW + budgetMs, () => r)
        return d === undefined || (d >= 0 && NOW + d < NOW + budgetMs)
      }
    ))
  })
})
