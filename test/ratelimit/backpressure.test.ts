// learnBackpressure: when a vendor's response says to hold off, and until when.
import { describe, expect, it } from 'vitest'
import { learnBackpressure } from '../../src/ratelimit/index.js'
import { policy } from './policy.js'

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
const BUCKETS = [{ capacity: 10, perSecond: 10 }]

function headers (h: Record<string, string>): (name: string) => string | undefined {
  return name => h[name]
}

describe('learnBackpressure from Retry-After', () => {
  const p = policy({ buckets: BUCKETS, upstream: { retryAfter: true } })

  it('reads seconds on a 429 and a 503', () => {
    expect(learnBackpressure(p, 429, headers({ 'retry-after': '7' }), NOW)).toBe(NOW + 7000)
    expect(learnBackpressure(p, 503, headers({ 'retry-after': '2' }), NOW)).toBe(NOW + 2000)
  })

  it('reads an HTTP-date', () => {
    const at = new Date(NOW + 30_000).toUTCString()
    expect(learnBackpressure(p, 429, headers({ 'retry-after': at }), NOW)).toBe(NOW + 30_000)
  })

  it('ignores other statuses, a missing or past or malformed value', () => {
    expect(learnBackpressure(p, 500, headers({ 'retry-after': '7' }), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 200, headers({ 'retry-after': '7' }), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 429, headers({}), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 429, headers({ 'retry-after': '0' }), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 429, headers({ 'retry-after': new Date(NOW - 1000).toUTCString() }), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 429, headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined()
  })

  it('is off when upstream.retryAfter is false', () => {
    const off = policy({ buckets: BUCKETS, upstream: { retryAfter: false } })
    expect(learnBackpressure(off, 429, headers({ 'retry-after': '7' }), NOW)).toBeUndefined()
  })

  it('pauses at most a day', () => {
    expect(learnBackpressure(p, 429, headers({ 'retry-after': '999999' }), NOW)).toBe(NOW + 86_400_000)
  })

  it('has nothing to pause for a vendor without buckets', () => {
    const none = policy({ buckets: [], upstream: { retryAfter: true } })
    expect(learnBackpressure(none, 429, headers({ 'retry-after': '7' }), NOW)).toBeUndefined()
  })
})

describe('learnBackpressure from remaining and reset headers', () => {
  const p = policy({
    buckets: BUCKETS,
    upstream: { retryAfter: false, remainingHeader: 'X-RateLimit-Remaining', resetHeader: 'X-RateLimit-Reset' },
  })
  const exhausted = (reset: string): (name: string) => string | undefined =>
    headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset })

  it('reads a small reset as seconds from now, on any status', () => {
    expect(learnBackpressure(p, 200, exhausted('12'), NOW)).toBe(NOW + 12_000)
  })

  it('reads a reset from 1e9 up as epoch seconds, from 1e12 up as epoch ms', () => {
    expect(learnBackpressure(p, 200, exhausted(String(NOW / 1000 + 40)), NOW)).toBe(NOW + 40_000)
    expect(learnBackpressure(p, 200, exhausted(String(NOW + 1500)), NOW)).toBe(NOW + 1500)
  })

  it('does nothing while tokens remain, or without a usable reset', () => {
    expect(learnBackpressure(p, 200, headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '12' }), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 200, headers({ 'x-ratelimit-remaining': '0' }), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 200, exhausted('tomorrow'), NOW)).toBeUndefined()
    expect(learnBackpressure(p, 200, exhausted(String(NOW / 1000 - 5)), NOW)).toBeUndefined()
  })

  it('is off without both headers configured', () => {
    const onlyRemaining = policy({ buckets: BUCKETS, upstream: { retryAfter: false, remainingHeader: 'x-ratelimit-remaining' } })
    expect(learnBackpressure(onlyRemaining, 200, exhausted('12'), NOW)).toBeUndefined()
  })

  it('takes the later of Retry-After and reset when both are present', () => {
    const both = policy({
      buckets: BUCKETS,
      upstream: { retryAfter: true, remainingHeader: 'x-ratelimit-remaining', resetHeader: 'x-ratelimit-reset' },
    })
    const h = headers({ 'retry-after': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '9' })
    expect(learnBackpressure(both, 429, h, NOW)).toBe(NOW + 9000)
  })
})
