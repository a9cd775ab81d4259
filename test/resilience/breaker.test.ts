import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { VendorBreaker, type BreakerStateCode } from '../../src/resilience/breaker.js'
import { breakerPolicy, type BreakerSection } from './policies.js'

let breakers: VendorBreaker[] = []
function make (over: BreakerSection = {}) {
  const states: BreakerStateCode[] = []
  const breaker = new VendorBreaker(breakerPolicy(over), s => states.push(s))
  breakers.push(breaker)
  return { breaker, states }
}

function calls (breaker: VendorBreaker, ok: number, failed: number): void {
  for (let i = 0; i < ok; i++) breaker.success()
  for (let i = 0; i < failed; i++) breaker.failure()
}

async function openedBreaker (over: BreakerSection = {}) {
  const made = make({ minimumRequests: 5, failureRate: '50%', openFor: '30s', ...over })
  calls(made.breaker, 0, 5)
  expect(made.breaker.state).toBe('open')
  return made
}

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => {
  for (const b of breakers) b.shutdown()
  breakers = []
  vi.useRealTimers()
})

describe('VendorBreaker: closed', () => {
  it('starts closed, says so, and admits', () => {
    const { breaker, states } = make()
    expect(breaker.state).toBe('closed')
    expect(states).toEqual([0])
    expect(breaker.admit()).toEqual({ ok: true, probe: false })
  })

  it('stays closed under minimumRequests, even when every call failed', async () => {
    const { breaker } = make({ minimumRequests: 20 })
    calls(breaker, 0, 19)
    expect(breaker.state).toBe('closed')
    expect(breaker.admit().ok).toBe(true)
  })

  it('stays closed below the failure rate', async () => {
    const { breaker } = make({ minimumRequests: 20, failureRate: '10%' })
    calls(breaker, 30, 0)
    calls(breaker, 0, 3) // 3 of 33 ≈ 9 %
    expect(breaker.state).toBe('closed')
  })

  it('opens when the failure rate is reached exactly', async () => {
    const { breaker, states } = make({ minimumRequests: 20, failureRate: '10%' })
    calls(breaker, 18, 0)
    breaker.failure()
    expect(breaker.state).toBe('closed') // 1 of 19: under minimumRequests
    breaker.failure() // 2 of 20 = 10 %
    expect(breaker.state).toBe('open')
    expect(states).toEqual([0, 2])
  })

  it('forgets calls that rolled out of the window', async () => {
    const { breaker } = make({ minimumRequests: 4, failureRate: '50%', window: '10s' })
    calls(breaker, 0, 3)
    await vi.advanceTimersByTimeAsync(11_000)
    breaker.failure() // alone in the window: under minimumRequests
    expect(breaker.state).toBe('closed')
  })
})

describe('VendorBreaker: the window, at its edges', () => {
  // a whole second, so the 10 s window's 1 s buckets start on it
  const T0 = 1_000_000_000_000

  it('still counts a failure a whole window old less 1 ms', async () => {
    vi.setSystemTime(T0)
    const { breaker } = make({ minimumRequests: 2, failureRate: '50%', window: '10s' })
    breaker.failure()
    await vi.advanceTimersByTimeAsync(9999)
    breaker.failure()
    expect(breaker.state).toBe('open')
  })

  it('no longer counts it a whole window later', async () => {
    vi.setSystemTime(T0)
    const { breaker } = make({ minimumRequests: 2, failureRate: '50%', window: '10s' })
    breaker.failure()
    await vi.advanceTimersByTimeAsync(10_000)
    breaker.failure()
    expect(breaker.state).toBe('closed')
    breaker.failure() // the second and third: 2 of 2
    expect(breaker.state).toBe('open')
  })

  it('drops old failures bucket by bucket, keeping the newer ones', async () => {
    vi.setSystemTime(T0)
    const { breaker } = make({ minimumRequests: 10, failureRate: '50%', window: '10s' })
    calls(breaker, 0, 4) // bucket 0
    await vi.advanceTimersByTimeAsync(5000)
    calls(breaker, 5, 0) // bucket 5
    await vi.advanceTimersByTimeAsync(5000) // bucket 10: the 4 failures are out
    calls(breaker, 0, 4)
    expect(breaker.state).toBe('closed') // 4 of 9: under minimumRequests
    breaker.failure() // 5 of 10
    expect(breaker.state).toBe('open')
  })

  it('opens at exactly the failure rate where rate × calls is not exact in floating point', () => {
    // 0.55 * 100 is 55.00000000000001: 55 failures of 100 must still be 55 %
    const { breaker } = make({ minimumRequests: 100, failureRate: '55%' })
    calls(breaker, 45, 54)
    expect(breaker.state).toBe('closed') // 54 of 99
    breaker.failure()
    expect(breaker.state).toBe('open')
  })

  it('never opens under minimumRequests, even at 100 % failures, and opens on the call that reaches it', () => {
    const { breaker, states } = make({ minimumRequests: 7, failureRate: '100%' })
    calls(breaker, 0, 6)
    expect(breaker.state).toBe('closed')
    breaker.failure()
    expect(states).toEqual([0, 2])
  })

  it('opens at 100 % only when every call failed', () => {
    const { breaker } = make({ minimumRequests: 5, failureRate: '100%' })
    calls(breaker, 1, 10)
    expect(breaker.state).toBe('closed')
  })
})

describe('VendorBreaker: open', () => {
  it('refuses calls with the time left until half-open', async () => {
    const { breaker } = await openedBreaker({ openFor: '30s' })
    expect(breaker.admit()).toEqual({ ok: false, retryAfterMs: 30_000 })
    await vi.advanceTimersByTimeAsync(12_000)
    expect(breaker.admit()).toEqual({ ok: false, retryAfterMs: 18_000 })
  })

  it('does not count reports of calls let through before it opened', async () => {
    const { breaker, states } = await openedBreaker()
    calls(breaker, 10, 10)
    expect(breaker.state).toBe('open')
    expect(states).toEqual([0, 2])
  })
})

describe('VendorBreaker: half-open', () => {
  it('half-opens after openFor and admits exactly one probe', async () => {
    const { breaker, states } = await openedBreaker({ openFor: '30s' })
    await vi.advanceTimersByTimeAsync(29_999)
    expect(breaker.state).toBe('open')
    await vi.advanceTimersByTimeAsync(1)
    expect(breaker.state).toBe('halfOpen')
    expect(states).toEqual([0, 2, 1])
    const admissions = Array.from({ length: 5 }, () => breaker.admit())
    expect(admissions.filter(a => a.ok)).toEqual([{ ok: true, probe: true }])
    expect(admissions.filter(a => !a.ok).every(a => !a.ok && a.retryAfterMs > 0)).toBe(true)
  })

  it('closes when the probe succeeds', async () => {
    const { breaker, states } = await openedBreaker({ openFor: '30s' })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(breaker.admit()).toEqual({ ok: true, probe: true })
    breaker.success()
    expect(breaker.state).toBe('closed')
    expect(states).toEqual([0, 2, 1, 0])
    expect(breaker.admit()).toEqual({ ok: true, probe: false })
    expect(breaker.admit()).toEqual({ ok: true, probe: false })
  })

  it('re-opens for another openFor when the probe fails', async () => {
    const { breaker, states } = await openedBreaker({ openFor: '30s' })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(breaker.admit().ok).toBe(true)
    breaker.failure()
    expect(breaker.state).toBe('open')
    expect(states).toEqual([0, 2, 1, 2])
    expect(breaker.admit()).toEqual({ ok: false, retryAfterMs: 30_000 })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(breaker.state).toBe('halfOpen')
    expect(breaker.admit()).toEqual({ ok: true, probe: true })
  })

  it('closes as the successful probe reports, not a turn later', async () => {
    const { breaker, states } = await openedBreaker()
    await vi.advanceTimersByTimeAsync(30_000)
    breaker.admit()
    breaker.success()
    expect(states).toEqual([0, 2, 1, 0])
    expect(breaker.admit()).toEqual({ ok: true, probe: false })
  })

  it('lets the first report decide and ignores the ones that follow', async () => {
    const { breaker, states } = await openedBreaker()
    await vi.advanceTimersByTimeAsync(30_000)
    breaker.admit()
    breaker.success()
    breaker.failure()
    expect(breaker.state).toBe('closed')
    expect(states).toEqual([0, 2, 1, 0])
  })

  it('frees the probe slot when the probe is released', async () => {
    const { breaker } = await openedBreaker()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(breaker.admit()).toEqual({ ok: true, probe: true })
    expect(breaker.admit().ok).toBe(false)
    breaker.release()
    expect(breaker.state).toBe('halfOpen')
    expect(breaker.admit()).toEqual({ ok: true, probe: true })
  })

  it('lets another probe through when one never reports', async () => {
    const { breaker } = await openedBreaker({ openFor: '30s' })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(breaker.admit().ok).toBe(true)
    await vi.advanceTimersByTimeAsync(29_999)
    expect(breaker.admit().ok).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(breaker.admit()).toEqual({ ok: true, probe: true })
    expect(breaker.admit().ok).toBe(false)
  })

  it('starts a fresh window when it closes, even when openFor is shorter than the window', async () => {
    const { breaker } = await openedBreaker({ minimumRequests: 5, failureRate: '50%', openFor: '2s', window: '10s' })
    await vi.advanceTimersByTimeAsync(2000)
    breaker.admit()
    breaker.success()
    expect(breaker.state).toBe('closed')
    // The 5 failures that opened it are 2 s old, still inside a 10 s window.
    calls(breaker, 0, 4)
    expect(breaker.state).toBe('closed')
    breaker.failure()
    expect(breaker.state).toBe('open')
  })
})

describe('VendorBreaker: disabled', () => {
  it('always admits and never opens', async () => {
    const { breaker, states } = make({ enabled: false, minimumRequests: 1 })
    calls(breaker, 0, 100)
    expect(breaker.state).toBe('closed')
    expect(breaker.admit()).toEqual({ ok: true, probe: false })
    expect(states).toEqual([0])
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('VendorBreaker: timers', () => {
  it('leaves no timer behind after shutdown, even while open', async () => {
    const { breaker } = await openedBreaker()
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    breaker.shutdown()
    expect(vi.getTimerCount()).toBe(0)
    expect(breaker.admit().ok).toBe(true)
    breaker.failure() // a late report after shutdown is ignored
    expect(breaker.state).toBe('closed')
  })

  it('keeps no timer while closed: the window moves on use', async () => {
    const { breaker } = make({ minimumRequests: 3, failureRate: '50%' })
    calls(breaker, 5, 0)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    calls(breaker, 0, 3) // the 5 successes rolled out: 3 of 3 failed
    expect(breaker.state).toBe('open')
  })

  it('unrefs its reset timer, so an open breaker never holds the process open', () => {
    vi.useRealTimers()
    const spy = vi.spyOn(globalThis, 'setTimeout')
    const { breaker } = make({ minimumRequests: 1, failureRate: '50%' })
    breaker.failure()
    const timers = spy.mock.results.map(r => r.value as NodeJS.Timeout)
    spy.mockRestore()
    expect(breaker.state).toBe('open')
    expect(timers.length).toBe(1)
    expect(timers[0]!.hasRef()).toBe(false)
    breaker.shutdown()
  })
})

describe('VendorBreaker: check, before a call has its rate-limit tokens', () => {
  it('refuses as admit would while open, and admits while closed', async () => {
    const { breaker } = make()
    expect(breaker.check()).toEqual({ ok: true, probe: false })
    const opened = await openedBreaker({ openFor: '30s' })
    await vi.advanceTimersByTimeAsync(12_000)
    expect(opened.breaker.check()).toEqual({ ok: false, retryAfterMs: 18_000 })
  })

  it('in half-open, leaves the probe slot to admit, and refuses once the probe is out', async () => {
    const { breaker } = await openedBreaker({ openFor: '30s' })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(breaker.check()).toEqual({ ok: true, probe: true })
    expect(breaker.check()).toEqual({ ok: true, probe: true })
    expect(breaker.admit()).toEqual({ ok: true, probe: true })
    expect(breaker.check().ok).toBe(false)
  })
})
