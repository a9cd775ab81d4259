// A call that is never sent takes nothing: a queued call that leaves gives its
// token back at once and the calls queued behind it move up; a call refused
// after it took its token gives it back, and the first call queued behind it
// goes at once. In memory, on a fake clock.
import { describe, expect, it, vi } from 'vitest'
import type { QueueWaiter, RateDecision } from '../../src/ratelimit/index.js'
import { ALL, NO_DEADLINE, START, testLimiter, useFakeClock, waitCount } from './harness.js'
import { policy } from './policy.js'

useFakeClock()

/** ms after START at which the decision resolved, once it has. */
function settledAt (p: Promise<RateDecision>): { at: number | undefined, decision: RateDecision | undefined } {
  const out: { at: number | undefined, decision: RateDecision | undefined } = { at: undefined, decision: undefined }
  p.then(d => { out.at = Date.now() - START; out.decision = d }, () => {})
  return out
}

function waiter (): QueueWaiter & { clientGone: boolean } {
  return { cancelWait: undefined, clientGone: false }
}

// One token a second, a queue of up to 5 s.
const slow = (): ReturnType<typeof policy> => policy({ buckets: [{ capacity: 1, perSecond: 1, onLimit: 'queue', maxWaitMs: 5000 }] })

describe('a queued call that leaves', () => {
  it('ends its wait at once, and the call behind it takes its turn', async () => {
    const { limiter, metrics } = testLimiter()
    const p = slow()
    await limiter.acquire(p, ALL, NO_DEADLINE)
    const w = waiter()
    const leaving = settledAt(limiter.acquire(p, ALL, NO_DEADLINE, w)) // turn at 1 s
    const behind = settledAt(limiter.acquire(p, ALL, NO_DEADLINE, waiter())) // turn at 2 s
    await vi.advanceTimersByTimeAsync(100)
    expect(w.cancelWait).toBeTypeOf('function')
    w.cancelWait?.()
    await vi.advanceTimersByTimeAsync(0)
    expect(leaving.at).toBe(100)
    expect(leaving.decision).toEqual({ ok: false, waitMs: 100, retryAfterMs: 0, bucket: 'burst', code: 'cancelled' })
    expect(w.cancelWait).toBeUndefined()
    await vi.advanceTimersByTimeAsync(900)
    expect(behind.at).toBe(1000)
    expect(behind.decision).toEqual({ ok: true, waitMs: 1000, retryAfterMs: 0, bucket: 'burst', store: 'memory' })
    expect(await waitCount(metrics, p.vendor)).toBe(2)
  })

  it('gives its token back: a call arriving after it waits only for the turn it left', async () => {
    const { limiter } = testLimiter()
    const p = slow()
    await limiter.acquire(p, ALL, NO_DEADLINE)
    const w = waiter()
    limiter.acquire(p, ALL, NO_DEADLINE, w).catch(() => {})
    await vi.advanceTimersByTimeAsync(100)
    w.cancelWait?.()
    const next = settledAt(limiter.acquire(p, ALL, NO_DEADLINE))
    await vi.advanceTimersByTimeAsync(900)
    expect(next.at).toBe(1000)
    expect(next.decision?.waitMs).toBe(900)
  })

  it('is not queued at all when its client left while the store decided', async () => {
    const { limiter } = testLimiter()
    const p = slow()
    await limiter.acquire(p, ALL, NO_DEADLINE)
    const w = waiter()
    w.clientGone = true
    expect(await limiter.acquire(p, ALL, NO_DEADLINE, w)).toMatchObject({ ok: false, code: 'cancelled' })
    expect(Date.now()).toBe(START)
    // Its token went back: the next call has the turn at 1 s.
    expect((await settleAfter(limiter.acquire(p, ALL, NO_DEADLINE), 1000)).waitMs).toBe(1000)
  })
})

describe('a call refused after it took its token', () => {
  it('gives it back, and the call queued behind it goes at once', async () => {
    const { limiter } = testLimiter()
    const p = slow()
    const taken = await limiter.acquire(p, ALL, NO_DEADLINE)
    const behind = settledAt(limiter.acquire(p, ALL, NO_DEADLINE, waiter()))
    const last = settledAt(limiter.acquire(p, ALL, NO_DEADLINE, waiter()))
    await vi.advanceTimersByTimeAsync(300)
    expect(behind.at).toBeUndefined()
    limiter.giveBack(p, ALL, taken)
    await vi.advanceTimersByTimeAsync(0)
    expect(behind.at).toBe(300)
    expect(behind.decision).toMatchObject({ ok: true, waitMs: 300 })
    await vi.advanceTimersByTimeAsync(700)
    expect(last.at).toBe(1000)
  })

  it('with nobody queued, leaves the bucket as if it had never been asked', async () => {
    const { limiter } = testLimiter()
    const p = slow()
    const taken = await limiter.acquire(p, ALL, NO_DEADLINE)
    limiter.giveBack(p, ALL, taken)
    expect(await limiter.acquire(p, ALL, NO_DEADLINE)).toMatchObject({ ok: true, waitMs: 0 })
  })

  it('does not let the call behind it go before a vendor pause', async () => {
    const { limiter } = testLimiter()
    const p = slow()
    const taken = await limiter.acquire(p, ALL, NO_DEADLINE)
    const behind = settledAt(limiter.acquire(p, ALL, NO_DEADLINE, waiter())) // turn at 1 s
    limiter.pause(p.vendor, START + 600)
    limiter.giveBack(p, ALL, taken)
    await vi.advanceTimersByTimeAsync(599)
    expect(behind.at).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(behind.at).toBe(600)
  })

  it('takes nothing back for a decision that took nothing', async () => {
    const { limiter } = testLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 1, onLimit: 'reject' }] })
    await limiter.acquire(p, ALL, NO_DEADLINE)
    const refused = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(refused.ok).toBe(false)
    limiter.giveBack(p, ALL, refused)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(false)
  })
})

async function settleAfter (p: Promise<RateDecision>, ms: number): Promise<RateDecision> {
  await vi.advanceTimersByTimeAsync(ms)
  return await p
}
