// The one deadline sweep: calls linked in and out in O(1), ended once their
// deadline passed, within SWEEP_MS, and no interval left while nothing is watched.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeadlineSweep, SWEEP_MS, type Deadlined } from '../../src/resilience/deadlines.js'

interface TestCall extends Deadlined {
  reached: number
}

function call (deadline: number): TestCall {
  return {
    deadline,
    deadlineNext: undefined,
    deadlinePrev: undefined,
    deadlineWatched: false,
    reached: 0,
    deadlineReached () { this.reached++ },
  }
}

describe('DeadlineSweep', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { vi.useRealTimers() })

  it('ends a call once its deadline passed, within one sweep, and only once', () => {
    const sweep = new DeadlineSweep()
    const c = call(Date.now() + 250)
    sweep.watch(c)
    vi.advanceTimersByTime(200)
    expect(c.reached).toBe(0)
    vi.advanceTimersByTime(SWEEP_MS)
    expect(c.reached).toBe(1)
    expect(c.deadlineWatched).toBe(false)
    vi.advanceTimersByTime(10 * SWEEP_MS)
    expect(c.reached).toBe(1)
    expect(sweep.size).toBe(0)
  })

  it('never ends a call unwatched before its deadline, whatever its place in the list', () => {
    const sweep = new DeadlineSweep()
    const calls = [call(Date.now() + 50), call(Date.now() + 50), call(Date.now() + 50), call(Date.now() + 5000)]
    for (const c of calls) sweep.watch(c)
    // unlink the head, the tail and one in the middle
    sweep.unwatch(calls[0] as TestCall)
    sweep.unwatch(calls[3] as TestCall)
    sweep.unwatch(calls[1] as TestCall)
    expect(sweep.size).toBe(1)
    vi.advanceTimersByTime(SWEEP_MS)
    expect(calls.map(c => c.reached)).toEqual([0, 0, 1, 0])
    vi.advanceTimersByTime(10_000)
    expect(calls.map(c => c.reached)).toEqual([0, 0, 1, 0])
  })

  it('ends every due call of a sweep, and keeps the others linked', () => {
    const sweep = new DeadlineSweep()
    const due = [call(Date.now() + 10), call(Date.now() + 20), call(Date.now() + 30)]
    const later = call(Date.now() + 1000)
    sweep.watch(due[0] as TestCall)
    sweep.watch(later)
    sweep.watch(due[1] as TestCall)
    sweep.watch(due[2] as TestCall)
    vi.advanceTimersByTime(SWEEP_MS)
    expect(due.map(c => c.reached)).toEqual([1, 1, 1])
    expect(later.reached).toBe(0)
    expect(sweep.size).toBe(1)
    vi.advanceTimersByTime(1000)
    expect(later.reached).toBe(1)
  })

  it('runs its interval only while a call is watched', () => {
    const sweep = new DeadlineSweep()
    expect(vi.getTimerCount()).toBe(0)
    const c = call(Date.now() + 1000)
    sweep.watch(c)
    sweep.watch(c) // watching twice links it once
    expect(sweep.size).toBe(1)
    expect(vi.getTimerCount()).toBe(1)
    sweep.unwatch(c)
    sweep.unwatch(c)
    expect(sweep.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })
})
