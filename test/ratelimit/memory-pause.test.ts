// A vendor pause (learnt from Retry-After) in memory: reject buckets refuse
// with the time left, queue buckets hold calls until it ends when they can.
import { describe, expect, it, vi } from 'vitest'
import type { RateDecision } from '../../src/ratelimit/index.js'
import { ALL, NO_DEADLINE, START, testLimiter, useFakeClock } from './harness.js'
import { policy } from './policy.js'

useFakeClock()

describe('a paused vendor', () => {
  it('refuses calls to a reject bucket with the pause left as Retry-After, then serves again', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 10, perSecond: 10 }] })
    limiter.pause(p.vendor, START + 3000)
    expect(await limiter.acquire(p, ALL, NO_DEADLINE)).toMatchObject({ ok: false, code: 'rate_limited', retryAfterMs: 3000 })
    vi.advanceTimersByTime(2000)
    expect(await limiter.acquire(p, ALL, NO_DEADLINE)).toMatchObject({ ok: false, retryAfterMs: 1000 })
    vi.advanceTimersByTime(1000)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
  })

  it('holds queued calls until the pause ends, when within maxWait and the deadline', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 10, perSecond: 10, onLimit: 'queue', maxWaitMs: 1000 }] })
    limiter.pause(p.vendor, START + 800)
    let done: RateDecision | undefined
    limiter.acquire(p, ALL, NO_DEADLINE).then(d => { done = d }, () => {})
    await vi.advanceTimersByTimeAsync(799)
    expect(done).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toEqual({ ok: true, waitMs: 800, retryAfterMs: 0, bucket: 'burst', store: 'memory' })
  })

  it('refuses at once a queued call the pause would keep past maxWait or its deadline', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 10, perSecond: 10, onLimit: 'queue', maxWaitMs: 1000 }] })
    limiter.pause(p.vendor, START + 1500)
    expect(await limiter.acquire(p, ALL, NO_DEADLINE)).toMatchObject({ ok: false, retryAfterMs: 1500 })
    vi.advanceTimersByTime(1000)
    expect(await limiter.acquire(p, ALL, START + 1200)).toMatchObject({ ok: false, retryAfterMs: 500 })
  })

  it('is not shortened by a later, shorter pause', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 10, perSecond: 10 }] })
    limiter.pause(p.vendor, START + 3000)
    limiter.pause(p.vendor, START + 1000)
    vi.advanceTimersByTime(2000)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(false)
  })

  it('leaves other vendors alone', async () => {
    const { limiter } = testLimiter()
    const paused = policy({ buckets: [{ capacity: 10, perSecond: 10 }] })
    const other = policy({ buckets: [{ capacity: 10, perSecond: 10 }] })
    limiter.pause(paused.vendor, START + 3000)
    expect((await limiter.acquire(other, ALL, NO_DEADLINE)).ok).toBe(true)
  })
})
