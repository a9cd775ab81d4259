// The wait a drain does: done when the work in flight reports idle, given up at the limit.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { idleWithin } from '../../src/resilience/idle.js'

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

describe('idleWithin', () => {
  it('is true as soon as the work reports idle, before the limit', async () => {
    let report: (() => void) | undefined
    const waiting = idleWithin(onIdle => { report = onIdle }, 1000)
    await vi.advanceTimersByTimeAsync(999)
    report?.()
    expect(await waiting).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('is false at the limit when the work never reports idle', async () => {
    const waiting = idleWithin(() => {}, 1000)
    await vi.advanceTimersByTimeAsync(1000)
    expect(await waiting).toBe(false)
  })
})
