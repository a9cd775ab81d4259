import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/resilience/backoff.js'
import { retryPolicy } from './policies.js'

const backoff = (jitter: 'full' | 'equal' | 'none') =>
  retryPolicy({ backoff: { initial: '100ms', max: '1s', multiplier: 2, jitter } }).backoff

const LOW = () => 0
const HIGH = () => 0.999999

describe('backoffDelay', () => {
  it('grows by the multiplier from the initial delay, without jitter', () => {
    expect([1, 2, 3, 4].map(n => backoffDelay(backoff('none'), n))).toEqual([100, 200, 400, 800])
  })

  it('is capped at max, even for huge retry numbers', () => {
    expect(backoffDelay(backoff('none'), 5)).toBe(1000)
    expect(backoffDelay(backoff('none'), 5000)).toBe(1000)
  })

  it('full jitter spans 0 up to the delay', () => {
    expect(backoffDelay(backoff('full'), 3, LOW)).toBe(0)
    expect(backoffDelay(backoff('full'), 3, () => 0.5)).toBe(200)
    expect(backoffDelay(backoff('full'), 3, HIGH)).toBe(399)
    expect(backoffDelay(backoff('full'), 10, HIGH)).toBe(999)
  })

  it('equal jitter spans half the delay up to the delay', () => {
    expect(backoffDelay(backoff('equal'), 3, LOW)).toBe(200)
    expect(backoffDelay(backoff('equal'), 3, HIGH)).toBe(399)
    expect(backoffDelay(backoff('equal'), 10, LOW)).toBe(500)
    expect(backoffDelay(backoff('equal'), 10, HIGH)).toBe(999)
  })

  it('never asks for random without jitter', () => {
    expect(backoffDelay(backoff('none'), 2, () => { throw new Error('random called') })).toBe(200)
  })

  it('stays within range with the real random source', () => {
    for (let i = 0; i < 1000; i++) {
      const full = backoffDelay(backoff('full'), 2)
      const equal = backoffDelay(backoff('equal'), 2)
      expect(full).toBeGreaterThanOrEqual(0)
      expect(full).toBeLessThan(200)
      expect(equal).toBeGreaterThanOrEqual(100)
      expect(equal).toBeLessThan(200)
      expect(Number.isInteger(full) && Number.isInteger(equal)).toBe(true)
    }
  })
})
