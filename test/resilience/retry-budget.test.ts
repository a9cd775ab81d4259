import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RetryBudget } from '../../src/resilience/retry-budget.js'

function retriesAllowed (budget: RetryBudget, tries: number): number {
  let n = 0
  for (let i = 0; i < tries; i++) if (budget.tryRetry()) n++
  return n
}

describe('RetryBudget', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { vi.useRealTimers() })

  it('allows retries up to the share of first attempts', () => {
    const budget = new RetryBudget(0.2)
    for (let i = 0; i < 100; i++) budget.recordFirstAttempt()
    expect(retriesAllowed(budget, 100)).toBe(20)
    expect(budget.counts).toEqual({ firsts: 100, retries: 20 })
  })

  it('counts first attempts spread over the window', () => {
    const budget = new RetryBudget(0.2)
    for (let s = 0; s < 10; s++) {
      if (s > 0) vi.advanceTimersByTime(1000)
      for (let i = 0; i < 10; i++) budget.recordFirstAttempt()
    }
    expect(budget.counts.firsts).toBe(100)
    expect(retriesAllowed(budget, 100)).toBe(20)
  })

  it('lets old attempts roll out of the window', () => {
    const budget = new RetryBudget(0.2, { minPerBucket: 0 })
    for (let i = 0; i < 100; i++) budget.recordFirstAttempt()
    vi.advanceTimersByTime(5000)
    expect(retriesAllowed(budget, 10)).toBe(10)
    vi.advanceTimersByTime(5000)
    // The first attempts are gone; the retries made 5 s later still count.
    expect(budget.counts).toEqual({ firsts: 0, retries: 10 })
    expect(budget.tryRetry()).toBe(false)
    vi.advanceTimersByTime(5000)
    expect(budget.counts).toEqual({ firsts: 0, retries: 0 })
  })

  it('forgets everything after a long idle time', () => {
    const budget = new RetryBudget(0.2, { minPerBucket: 0 })
    for (let i = 0; i < 100; i++) budget.recordFirstAttempt()
    expect(retriesAllowed(budget, 5)).toBe(5)
    vi.advanceTimersByTime(3_600_000)
    expect(budget.counts).toEqual({ firsts: 0, retries: 0 })
  })

  it('still lets a quiet vendor retry a few times per second', () => {
    const budget = new RetryBudget(0.2)
    budget.recordFirstAttempt()
    expect(retriesAllowed(budget, 10)).toBe(3)
    vi.advanceTimersByTime(1000)
    budget.recordFirstAttempt()
    expect(retriesAllowed(budget, 10)).toBe(3)
  })

  it('does not add the floor on top of a spent share in the same second', () => {
    const budget = new RetryBudget(0.2)
    for (let i = 0; i < 50; i++) budget.recordFirstAttempt()
    expect(retriesAllowed(budget, 50)).toBe(10)
  })

  it('allows no retry with a zero share and no floor', () => {
    const budget = new RetryBudget(0, { minPerBucket: 0 })
    for (let i = 0; i < 100; i++) budget.recordFirstAttempt()
    expect(budget.tryRetry()).toBe(false)
  })

  it('keeps counting in the newest bucket when the clock goes back', () => {
    const budget = new RetryBudget(0.5, { minPerBucket: 0 })
    for (let i = 0; i < 10; i++) budget.recordFirstAttempt()
    const now = Date.now()
    vi.setSystemTime(now - 60_000)
    expect(retriesAllowed(budget, 10)).toBe(5)
    // and when the clock comes back, nothing was thrown away
    vi.setSystemTime(now)
    expect(budget.counts).toEqual({ firsts: 10, retries: 5 })
  })

  it('rejects a nonsensical configuration', () => {
    expect(() => new RetryBudget(-1)).toThrow(RangeError)
    expect(() => new RetryBudget(0.2, { windowMs: 500, bucketMs: 1000 })).toThrow(RangeError)
  })
})
