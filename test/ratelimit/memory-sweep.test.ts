// The in-memory store forgets buckets once they are full again (a full bucket
// is the same as none), so per-tenant or per-IP keys do not pile up.
import { describe, expect, it } from 'vitest'
import { Metrics } from '../../src/observability/metrics.js'
import { MemoryStore } from '../../src/ratelimit/memory.js'
import { compilePlan } from '../../src/ratelimit/plan.js'
import { policy } from './policy.js'

const T0 = 1_700_000_000_000

describe('the memory store', () => {
  it('drops buckets that have refilled, keeps the ones still short', () => {
    const store = new MemoryStore()
    const plan = compilePlan(policy({ buckets: [{ capacity: 10, perSecond: 1, key: { kind: 'ip' } }] }), new Metrics({ processMetrics: false }))
    for (let i = 0; i < 100; i++) store.decide(plan, [`10.0.0.${i}`], Infinity, T0)
    expect(store.size).toBe(100)
    // 10.0.0.0 is drawn down further, so it is not full by the next sweep.
    for (let i = 0; i < 9; i++) store.decide(plan, ['10.0.0.0'], Infinity, T0 + 29_000)
    // One token short refills in 1 s; sweeps run every 30 s.
    store.decide(plan, ['10.0.0.200'], Infinity, T0 + 31_000)
    expect(store.size).toBe(2)
  })

  it('never forgets a bucket that is still short', () => {
    const store = new MemoryStore()
    const plan = compilePlan(policy({ buckets: [{ capacity: 2, perSecond: 0.01 }] }), new Metrics({ processMetrics: false }))
    expect(store.decide(plan, ['all'], Infinity, T0).refused).toBe(false)
    expect(store.decide(plan, ['all'], Infinity, T0).refused).toBe(false)
    // 31 s later a sweep has run; the bucket is 0.31 tokens in, not full, so still owed.
    expect(store.decide(plan, ['all'], Infinity, T0 + 31_000).refused).toBe(true)
  })
})
