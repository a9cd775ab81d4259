// `onLimit: queue` in memory: calls wait for their token in arrival order,
// spread at the refill rate, and a wait past maxWait or the deadline is
// refused at once without taking anything.
import { describe, expect, it, vi } from 'vitest'
import type { RateDecision } from '../../src/ratelimit/index.js'
import { ALL, decisions, NO_DEADLINE, START, testLimiter, useFakeClock, waitCount } from './harness.js'
import { policy } from './policy.js'

useFakeClock()

/** Starts the calls in order; records when (ms after START) and in which order each one resolved. */
function track (calls: Array<Promise<RateDecision>>): { order: number[], at: number[], results: RateDecision[] } {
  const out = { order: [] as number[], at: [] as number[], results: [] as RateDecision[] }
  calls.forEach((p, i) => {
    p.then(d => {
      out.order.push(i)
      out.at[i] = Date.now() - START
      out.results[i] = d
    }, () => {})
  })
  return out
}

describe('a queue bucket', () => {
  it('releases queued calls in arrival order, one per refill interval', async () => {
    const { limiter, metrics } = testLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 10, onLimit: 'queue', maxWaitMs: 1000 }] })
    const t = track(Array.from({ length: 5 }, () => limiter.acquire(p, ALL, NO_DEADLINE)))
    await vi.advanceTimersByTimeAsync(1000)
    expect(t.order).toEqual([0, 1, 2, 3, 4])
    expect(t.at).toEqual([0, 100, 200, 300, 400])
    expect(t.results.map(d => d.waitMs)).toEqual([0, 100, 200, 300, 400])
    expect(t.results[1]).toEqual({ ok: true, waitMs: 100, retryAfterMs: 0, bucket: 'burst', store: 'memory' })
    expect(await decisions(metrics, p.vendor, 'burst', 'allowed')).toBe(1)
    expect(await decisions(metrics, p.vendor, 'burst', 'queued')).toBe(4)
    expect(await waitCount(metrics, p.vendor)).toBe(4)
  })

  it('shapes a burst: after the capacity, admissions are spaced at the refill rate', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 3, perSecond: 50, onLimit: 'queue', maxWaitMs: 10_000 }] })
    const t = track(Array.from({ length: 20 }, () => limiter.acquire(p, ALL, NO_DEADLINE)))
    await vi.advanceTimersByTimeAsync(2000)
    expect(t.at.slice(0, 3)).toEqual([0, 0, 0])
    for (let i = 3; i < 20; i++) expect(t.at[i]).toBe((i - 2) * 20)
  })

  it('refuses at once, taking nothing, a call whose wait would pass maxWait', async () => {
    const { limiter, metrics } = testLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 10, onLimit: 'queue', maxWaitMs: 250 }] })
    const t = track([0, 1, 2].map(() => limiter.acquire(p, ALL, NO_DEADLINE)))
    // The fourth call would wait 300 ms: refused without any time passing.
    const refused = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(Date.now()).toBe(START)
    expect(refused).toEqual({ ok: false, waitMs: 0, retryAfterMs: 300, bucket: 'burst', code: 'rate_limited' })
    expect(await decisions(metrics, p.vendor, 'burst', 'rejected')).toBe(1)
    await vi.advanceTimersByTimeAsync(300)
    expect(t.at).toEqual([0, 100, 200])
    // Had the refused call taken a token, this one would have to wait 100 ms more.
    const next = limiter.acquire(p, ALL, NO_DEADLINE)
    const d = await next
    expect(d).toEqual({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'memory' })
  })

  it('refuses at once a call whose wait would pass its deadline', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 10, onLimit: 'queue', maxWaitMs: 5000 }] })
    await limiter.acquire(p, ALL, NO_DEADLINE)
    const refused = await limiter.acquire(p, ALL, START + 99)
    expect(refused).toMatchObject({ ok: false, code: 'rate_limited', retryAfterMs: 100 })
    expect(Date.now()).toBe(START)
    // Nothing was taken: a call that can afford the wait gets the next token.
    const t = track([limiter.acquire(p, ALL, START + 100)])
    await vi.advanceTimersByTimeAsync(100)
    expect(t.at).toEqual([100])
  })

  it('with a reject bucket beside it, queues only when the reject bucket has a token', async () => {
    const { limiter } = testLimiter()
    const p = policy({
      buckets: [
        { name: 'burst', capacity: 1, perSecond: 10, onLimit: 'queue', maxWaitMs: 1000 },
        { name: 'daily', capacity: 2, perSecond: 0.001, onLimit: 'reject' },
      ],
    })
    const t = track([0, 1].map(() => limiter.acquire(p, ['all', 'all'], NO_DEADLINE)))
    const third = await limiter.acquire(p, ['all', 'all'], NO_DEADLINE)
    expect(third).toMatchObject({ ok: false, bucket: 'daily' })
    await vi.advanceTimersByTimeAsync(100)
    expect(t.at).toEqual([0, 100])
  })

  it('holds a queued call for the longest wait among its buckets, within each maxWait', async () => {
    const { limiter } = testLimiter()
    const p = policy({
      buckets: [
        { name: 'fast', capacity: 1, perSecond: 10, onLimit: 'queue', maxWaitMs: 1000 },
        { name: 'slow', capacity: 1, perSecond: 4, onLimit: 'queue', maxWaitMs: 300 },
      ],
    })
    const t = track([0, 1].map(() => limiter.acquire(p, ['all', 'all'], NO_DEADLINE)))
    // The second call needs 100 ms from 'fast' and 250 ms from 'slow'.
    await vi.advanceTimersByTimeAsync(300)
    expect(t.at).toEqual([0, 250])
    expect(t.results[1]?.bucket).toBe('slow')
    // At 300 ms 'fast' is full again and 'slow' is 200 ms from a token: within both maxWaits.
    const third = track([limiter.acquire(p, ['all', 'all'], NO_DEADLINE)])
    // The next call would wait 450 ms: within the 1 s of 'fast', past the 300 ms of 'slow'.
    const fourth = await limiter.acquire(p, ['all', 'all'], NO_DEADLINE)
    expect(fourth).toMatchObject({ ok: false, bucket: 'slow', retryAfterMs: 450 })
    await vi.advanceTimersByTimeAsync(200)
    expect(third.at).toEqual([500])
  })
})
