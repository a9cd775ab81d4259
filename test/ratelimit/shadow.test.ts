// `mode: shadow`: decide and count as enforce would, flag what would have been
// limited, but never delay or refuse, and never take a token enforce would refuse.
import { describe, expect, it, vi } from 'vitest'
import { ALL, decisions, NO_DEADLINE, START, testLimiter, useFakeClock } from './harness.js'
import { policy } from './policy.js'

useFakeClock()

describe('shadow mode', () => {
  it('lets every call through, flags and counts the ones enforce would refuse', async () => {
    const { limiter, metrics } = testLimiter()
    const p = policy({ mode: 'shadow', buckets: [{ capacity: 2, perSecond: 1 }] })
    const got = []
    for (let i = 0; i < 5; i++) got.push(await limiter.acquire(p, ALL, NO_DEADLINE))
    expect(got.every(d => d.ok)).toBe(true)
    expect(got.map(d => d.wouldLimit === true)).toEqual([false, false, true, true, true])
    expect(got[2]).toEqual({ ok: true, waitMs: 0, retryAfterMs: 1000, bucket: 'burst', code: 'rate_limited', wouldLimit: true })
    expect(await decisions(metrics, p.vendor, 'burst', 'allowed')).toBe(2)
    expect(await decisions(metrics, p.vendor, 'burst', 'rejected')).toBe(3)
  })

  it('takes no token for a call enforce would refuse', async () => {
    const { limiter } = testLimiter()
    const p = policy({ mode: 'shadow', buckets: [{ capacity: 1, perSecond: 1 }] })
    await limiter.acquire(p, ALL, NO_DEADLINE)
    for (let i = 0; i < 10; i++) await limiter.acquire(p, ALL, NO_DEADLINE)
    vi.advanceTimersByTime(1000)
    // One token refilled and none owed: enforce would admit this call.
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).wouldLimit).toBeUndefined()
  })

  it('never delays a call enforce would queue, and counts it queued', async () => {
    const { limiter, metrics } = testLimiter()
    const p = policy({ mode: 'shadow', buckets: [{ capacity: 1, perSecond: 10, onLimit: 'queue', maxWaitMs: 150 }] })
    const first = await limiter.acquire(p, ALL, NO_DEADLINE)
    const second = await limiter.acquire(p, ALL, NO_DEADLINE)
    const third = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(Date.now()).toBe(START)
    expect(first).toEqual({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'memory' })
    expect(second).toEqual({ ok: true, waitMs: 0, retryAfterMs: 0, bucket: 'burst', store: 'memory', wouldLimit: true })
    // The second call reserved the next token as enforce would: the third would wait 200 ms > maxWait.
    expect(third).toMatchObject({ ok: true, code: 'rate_limited', wouldLimit: true })
    expect(await decisions(metrics, p.vendor, 'burst', 'queued')).toBe(1)
    expect(await decisions(metrics, p.vendor, 'burst', 'rejected')).toBe(1)
  })

  it('does not hold calls during a vendor pause', async () => {
    const { limiter } = testLimiter()
    const p = policy({ mode: 'shadow', buckets: [{ capacity: 10, perSecond: 10 }] })
    limiter.pause(p.vendor, START + 5000)
    const d = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(d).toMatchObject({ ok: true, wouldLimit: true, retryAfterMs: 5000 })
  })
})
