// In-memory buckets (the default without Redis): exact admission counts,
// refill, truthful Retry-After, per-key isolation, all-or-none across buckets.
import { describe, expect, it, vi } from 'vitest'
import { bucketKeyValues, type RateDecision } from '../../src/ratelimit/index.js'
import { ALL, decisions, NO_DEADLINE, testLimiter, useFakeClock } from './harness.js'
import { policy } from './policy.js'

useFakeClock()

async function burst (n: number, run: () => Promise<RateDecision>): Promise<RateDecision[]> {
  const out: RateDecision[] = []
  for (let i = 0; i < n; i++) out.push(await run())
  return out
}

describe('a single reject bucket', () => {
  it('admits exactly its capacity, then refuses with the time until the next token', async () => {
    const { limiter, metrics } = testLimiter()
    const p = policy({ buckets: [{ capacity: 10, perSecond: 2 }] })
    const got = await burst(12, () => limiter.acquire(p, ALL, NO_DEADLINE))
    expect(got.filter(d => d.ok)).toHaveLength(10)
    expect(got[10]).toEqual({ ok: false, waitMs: 0, retryAfterMs: 500, bucket: 'burst', code: 'rate_limited' })
    expect(await decisions(metrics, p.vendor, 'burst', 'allowed')).toBe(10)
    expect(await decisions(metrics, p.vendor, 'burst', 'rejected')).toBe(2)
  })

  it('refills at its rate: the Retry-After it gives is exact', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 2 }] })
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    const refused = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(refused.retryAfterMs).toBe(500)
    vi.advanceTimersByTime(499)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(false)
    vi.advanceTimersByTime(1)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
  })

  it('admits capacity + rate × time over a longer run, never more', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 5, perSecond: 50 }] })
    let admitted = 0
    for (let ms = 0; ms <= 1000; ms++) {
      for (let i = 0; i < 3; i++) if ((await limiter.acquire(p, ALL, NO_DEADLINE)).ok) admitted++
      vi.advanceTimersByTime(1)
    }
    // 5 at the start, then one every 20 ms for 1000 ms.
    expect(admitted).toBe(5 + 50)
  })

  it('does not refill beyond its capacity while idle', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 3, perSecond: 10 }] })
    await burst(3, () => limiter.acquire(p, ALL, NO_DEADLINE))
    vi.advanceTimersByTime(60_000)
    const got = await burst(5, () => limiter.acquire(p, ALL, NO_DEADLINE))
    expect(got.filter(d => d.ok)).toHaveLength(3)
  })
})

describe('a vendor without buckets', () => {
  it('is always allowed, with one shared answer and no metric', async () => {
    const { limiter, metrics } = testLimiter()
    const p = policy({ buckets: [] })
    const a = limiter.acquire(p, [], NO_DEADLINE)
    const b = limiter.acquire(p, [], NO_DEADLINE)
    expect(a).toBe(b)
    expect(await a).toEqual({ ok: true, waitMs: 0, retryAfterMs: 0 })
    expect((await metrics.rateLimitDecisions.get()).values).toHaveLength(0)
  })
})

describe('per-key buckets', () => {
  it('keeps each header value in its own bucket', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 2, perSecond: 1, key: { kind: 'header', name: 'X-Tenant' } }] })
    const tenant = (t: string | undefined): readonly string[] => bucketKeyValues(p, n => (n === 'x-tenant' ? t : undefined), '10.0.0.1')
    const a = await burst(3, () => limiter.acquire(p, tenant('a'), NO_DEADLINE))
    const b = await burst(3, () => limiter.acquire(p, tenant('b'), NO_DEADLINE))
    const none = await burst(3, () => limiter.acquire(p, tenant(undefined), NO_DEADLINE))
    expect(a.map(d => d.ok)).toEqual([true, true, false])
    expect(b.map(d => d.ok)).toEqual([true, true, false])
    expect(none.map(d => d.ok)).toEqual([true, true, false])
  })

  it('keeps each client address in its own bucket', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 1, key: { kind: 'ip' } }] })
    const ip = (addr: string): readonly string[] => bucketKeyValues(p, () => undefined, addr)
    expect((await limiter.acquire(p, ip('10.0.0.1'), NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p, ip('10.0.0.1'), NO_DEADLINE)).ok).toBe(false)
    expect((await limiter.acquire(p, ip('10.0.0.2'), NO_DEADLINE)).ok).toBe(true)
  })

  it('keeps vendors apart even with the same bucket names', async () => {
    const { limiter } = testLimiter()
    const p1 = policy({ buckets: [{ capacity: 1, perSecond: 1 }] })
    const p2 = policy({ buckets: [{ capacity: 1, perSecond: 1 }] })
    expect((await limiter.acquire(p1, ALL, NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p2, ALL, NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p1, ALL, NO_DEADLINE)).ok).toBe(false)
  })
})

describe('several buckets', () => {
  // The same vendor and bucket name share state: a policy with only the burst
  // bucket reads what the two-bucket policy left in it.
  it('a refusal by the daily bucket takes nothing from the burst bucket', async () => {
    const { limiter, metrics } = testLimiter()
    const both = policy({
      buckets: [
        { name: 'burst', capacity: 5, perSecond: 0.001 },
        { name: 'daily', capacity: 2, perSecond: 0.001 },
      ],
    })
    const burstOnly = policy({ vendor: both.vendor, buckets: [{ name: 'burst', capacity: 5, perSecond: 0.001 }] })
    const got = await burst(4, () => limiter.acquire(both, ['all', 'all'], NO_DEADLINE))
    expect(got.map(d => d.ok)).toEqual([true, true, false, false])
    expect(got[2]?.bucket).toBe('daily')
    const left = await burst(5, () => limiter.acquire(burstOnly, ALL, NO_DEADLINE))
    expect(left.filter(d => d.ok)).toHaveLength(3)
    expect(await decisions(metrics, both.vendor, 'daily', 'rejected')).toBe(2)
    expect(await decisions(metrics, both.vendor, 'burst', 'rejected')).toBe(2 /* the burstOnly calls */)
  })

  it('a refusal by the burst bucket takes nothing from the daily bucket', async () => {
    const { limiter } = testLimiter()
    const both = policy({
      buckets: [
        { name: 'burst', capacity: 1, perSecond: 1 },
        { name: 'daily', capacity: 3, perSecond: 0.001 },
      ],
    })
    const got = await burst(5, () => limiter.acquire(both, ['all', 'all'], NO_DEADLINE))
    expect(got.map(d => d.ok)).toEqual([true, false, false, false, false])
    expect(got[1]?.bucket).toBe('burst')
    vi.advanceTimersByTime(1000)
    expect((await limiter.acquire(both, ['all', 'all'], NO_DEADLINE)).ok).toBe(true)
    vi.advanceTimersByTime(1000)
    expect((await limiter.acquire(both, ['all', 'all'], NO_DEADLINE)).ok).toBe(true)
    vi.advanceTimersByTime(1000)
    const last = await limiter.acquire(both, ['all', 'all'], NO_DEADLINE)
    expect(last).toMatchObject({ ok: false, bucket: 'daily' })
  })

  it('gives a Retry-After that covers the slowest bucket', async () => {
    const { limiter } = testLimiter()
    const both = policy({
      buckets: [
        { name: 'burst', capacity: 1, perSecond: 10 },
        { name: 'daily', capacity: 1, perSecond: 1 },
      ],
    })
    await limiter.acquire(both, ['all', 'all'], NO_DEADLINE)
    const refused = await limiter.acquire(both, ['all', 'all'], NO_DEADLINE)
    expect(refused).toMatchObject({ ok: false, bucket: 'daily', retryAfterMs: 1000 })
  })
})
