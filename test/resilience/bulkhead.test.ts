import { describe, expect, it } from 'vitest'
import { Bulkhead } from '../../src/resilience/bulkhead.js'

describe('Bulkhead', () => {
  it('admits up to the limit and refuses the next at once', () => {
    const b = new Bulkhead(2)
    expect(b.tryEnter()).toBe(true)
    expect(b.tryEnter()).toBe(true)
    expect(b.tryEnter()).toBe(false)
  })

  it('frees a slot on leave', () => {
    const b = new Bulkhead(1)
    expect(b.tryEnter()).toBe(true)
    expect(b.tryEnter()).toBe(false)
    b.leave()
    expect(b.tryEnter()).toBe(true)
  })

  it('does not go below zero on an extra leave', () => {
    const b = new Bulkhead(1)
    b.leave()
    expect(b.tryEnter()).toBe(true)
    expect(b.tryEnter()).toBe(false)
  })

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new Bulkhead(0)).toThrow(RangeError)
    expect(() => new Bulkhead(1.5)).toThrow(RangeError)
  })
})
