// The breaker's rolling window on its own, on an explicit clock: which calls
// are still counted at the edges of the window, across many laps of the ring.
import { describe, expect, it } from 'vitest'
import { RollingWindow } from '../../src/resilience/rolling-window.js'

// a bucket boundary for every bucket length used below (1000, 200, 150 and 105 ms)
const T0 = 1_000_000_008_000

describe('RollingWindow', () => {
  it('counts calls and failures', () => {
    const w = new RollingWindow(10_000, T0)
    w.add(false, T0)
    w.add(true, T0 + 1)
    w.add(true, T0 + 5000)
    expect([w.calls, w.failures]).toEqual([3, 2])
  })

  it('keeps a call until its bucket is a whole window old, and not a millisecond longer', () => {
    const w = new RollingWindow(10_000, T0) // 10 buckets of 1 s
    w.add(true, T0)
    w.add(false, T0 + 9999)
    expect([w.calls, w.failures]).toEqual([2, 1])
    w.add(false, T0 + 10_000)
    expect([w.calls, w.failures]).toEqual([2, 0])
  })

  it('drops a call from late in its bucket with that bucket, a bucket short of the window', () => {
    const w = new RollingWindow(10_000, T0)
    w.add(true, T0 + 999)
    w.add(false, T0 + 9999)
    expect(w.failures).toBe(1)
    w.add(false, T0 + 10_000) // 9001 ms after it
    expect(w.failures).toBe(0)
  })

  it('drops exactly the buckets that elapsed when it moves several at once', () => {
    const w = new RollingWindow(10_000, T0)
    for (let s = 0; s < 10; s++) w.add(true, T0 + s * 1000)
    expect(w.failures).toBe(10)
    w.add(false, T0 + 12_500) // buckets 0, 1 and 2 fall out
    expect([w.calls, w.failures]).toEqual([8, 7])
  })

  it('forgets everything after more than a window without calls', () => {
    const w = new RollingWindow(10_000, T0)
    for (let i = 0; i < 5; i++) w.add(true, T0 + i * 1000)
    w.add(false, T0 + 60_000)
    expect([w.calls, w.failures]).toEqual([1, 0])
  })

  it('counts a call from a clock that stepped back in the newest bucket', () => {
    const w = new RollingWindow(10_000, T0)
    w.add(true, T0 + 5000)
    w.add(true, T0 + 1000)
    expect([w.calls, w.failures]).toEqual([2, 2])
    w.add(false, T0 + 14_999) // both sit in the bucket of T0 + 5000
    expect(w.failures).toBe(2)
    w.add(false, T0 + 15_000)
    expect(w.failures).toBe(0)
  })

  it('uses one bucket for a window under 200 ms, and buckets of a fraction of a ms when the window does not divide', () => {
    const one = new RollingWindow(150, T0)
    one.add(true, T0)
    one.add(true, T0 + 149)
    expect(one.failures).toBe(2)
    one.add(false, T0 + 150)
    expect([one.calls, one.failures]).toEqual([1, 0])

    const odd = new RollingWindow(1050, T0) // 10 buckets of 105 ms
    odd.add(true, T0)
    odd.add(false, T0 + 1049)
    expect(odd.failures).toBe(1)
    odd.add(false, T0 + 1050)
    expect(odd.failures).toBe(0)
  })

  it('clear() forgets every call', () => {
    const w = new RollingWindow(10_000, T0)
    for (let s = 0; s < 10; s++) w.add(true, T0 + s * 1000)
    w.clear()
    expect([w.calls, w.failures]).toEqual([0, 0])
    w.add(true, T0 + 10_500)
    expect([w.calls, w.failures]).toEqual([1, 1])
  })

  it('agrees with a list of every call over many laps of the ring', () => {
    const windowMs = 2000 // 10 buckets of 200 ms
    const bucketMs = 200
    const w = new RollingWindow(windowMs, T0)
    const seen: Array<{ bucket: number, failed: boolean }> = []
    let seed = 7 // Park–Miller: the same calls every run
    const rand = (n: number) => { seed = (seed * 48_271) % 2_147_483_647; return seed % n }
    let now = T0
    for (let i = 0; i < 5000; i++) {
      // mostly small steps, now and then a gap of several buckets or a whole window
      now += rand(10) === 0 ? rand(2500) : rand(60)
      const failed = rand(3) === 0
      w.add(failed, now)
      const bucket = Math.floor(now / bucketMs)
      seen.push({ bucket, failed })
      const live = seen.filter(c => c.bucket > bucket - 10)
      expect([w.calls, w.failures]).toEqual([live.length, live.filter(c => c.failed).length])
    }
  })
})
