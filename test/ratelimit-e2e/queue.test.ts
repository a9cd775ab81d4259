// onLimit: queue through a real sluice (SPEC section 4): queued calls reach the
// vendor in the order they arrived, spread at the refill rate; a wait that
// would pass maxWait, or the call's timeouts.total, is refused at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, call, countStatus, rateLimitedPolicy, startStoreSluice, STORES, type CallResult } from './harness.js'
import { eventually, sleep } from '../helpers/wait.js'

let redis: RedisHandle
let upstream: Upstream
/** answers 503 (no Retry-After) after 600 ms */
let slow503: Upstream
/** performance.now() when each call reached the upstream, by its x-seq header */
const arrivals: Array<{ seq: string, at: number }> = []

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream((req, res) => {
    arrivals.push({ seq: String(req.headers['x-seq']), at: performance.now() })
    res.end('ok')
  })
  slow503 = await startUpstream((_req, res) => {
    setTimeout(() => { res.statusCode = 503; res.end('busy') }, 600)
  })
})
afterAll(async () => {
  await upstream.close()
  await slow503.close()
  await redis.stop()
})

describe.each(STORES)('$store buckets', ({ store }) => {
  it('spreads queued calls at the refill rate, in the order they arrived', async () => {
    const CAPACITY = 2
    const INTERVAL_MS = 50 // refill 20/s
    const CALLS = 12
    const vendor = `shape-${store}`
    const s = await startStoreSluice({
      'shape.yaml': rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: burst
    capacity: ${CAPACITY}
    refill: 20/s
    onLimit: queue
    maxWait: 5s
`),
    }, store, redis)
    try {
      arrivals.length = 0
      const calls: Array<Promise<CallResult>> = []
      // Sent 10 ms apart, faster than the bucket refills, so a queue builds up.
      for (let i = 0; i < CALLS; i++) {
        calls.push(call(`${s.url}/${vendor}/q`, { 'x-seq': String(i) }))
        await sleep(10)
      }
      const results = await Promise.all(calls)
      expect(countStatus(results, 200)).toBe(CALLS)
      expect(arrivals.map(a => a.seq)).toEqual(Array.from({ length: CALLS }, (_, i) => String(i)))

      // From the first queued call on, one arrival per refill interval.
      const queued = arrivals.slice(CAPACITY)
      const spread = (queued.at(-1)!.at - queued[0]!.at) / (queued.length - 1)
      // Never faster than the bucket refills; slower only by what a loaded machine adds.
      expect(spread).toBeGreaterThan(INTERVAL_MS * 0.8)
      expect(spread).toBeLessThan(INTERVAL_MS * 1.6)
      // Over the whole run the vendor never saw more than the bucket allows.
      const elapsed = arrivals.at(-1)!.at - arrivals[0]!.at
      expect(CALLS).toBeLessThanOrEqual(CAPACITY + Math.ceil(elapsed / INTERVAL_MS) + 1)

      // The log line tells how long each call was held.
      await eventually(() => requestLines(s).length === CALLS)
      const waits = requestLines(s).map(l => l.waitMs as number)
      expect(waits.filter(w => w === 0).length).toBeGreaterThanOrEqual(CAPACITY)
      expect(Math.max(...waits)).toBeGreaterThan(INTERVAL_MS * (CALLS - CAPACITY) * 0.5)
    } finally {
      await s.stop()
    }
  })

  it('refuses at once a call whose wait would pass maxWait', async () => {
    const vendor = `maxwait-${store}`
    // One token every 500 ms; the second queued call would wait ~1000 ms > 800 ms.
    const s = await startStoreSluice({
      'w.yaml': rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: burst
    capacity: 1
    refill: 2/s
    onLimit: queue
    maxWait: 800ms
`),
    }, store, redis)
    try {
      const results = await burst(`${s.url}/${vendor}/w`, 4)
      expect(countStatus(results, 200)).toBe(2)
      const refused = results.filter(r => r.status === 429)
      expect(refused.length).toBe(2)
      for (const r of refused) {
        expect(r.headers['x-sluice-error']).toBe('rate_limited')
        expect(r.headers['retry-after']).toBe('1')
        // Refused now, not after sitting out maxWait.
        expect(r.ms).toBeLessThan(300)
      }
      // The admitted call that queued really waited for its token.
      expect(Math.max(...results.filter(r => r.status === 200).map(r => r.ms))).toBeGreaterThan(400)
    } finally {
      await s.stop()
    }
  })

  it('refuses at once a retry whose wait for a token would pass timeouts.total', async () => {
    // maxWait can be no longer than timeouts.total, so a first attempt always has
    // the budget maxWait allows; a retry, taking its token later in the call,
    // has less. One token every 1500 ms: the retry at ~600 ms would wait ~900 ms,
    // within maxWait (1200 ms) but past the ~600 ms left of the call.
    const vendor = `deadline-${store}`
    const s = await startStoreSluice({
      'd.yaml': rateLimitedPolicy(vendor, slow503.url, `
buckets:
  - name: burst
    capacity: 1
    refill: 40/min
    onLimit: queue
    maxWait: 1200ms
`, {
        retry: 'attempts: 2\non: [503]\nbackoff: { initial: 1ms, max: 1ms }\nbudget: 100%',
        extra: 'timeouts:\n  read: 1s\n  total: 1200ms',
      }),
    }, store, redis)
    try {
      slow503.seen.length = 0
      const r = await call(`${s.url}/${vendor}/d`)
      expect(r.status).toBe(429)
      expect(r.headers['x-sluice-error']).toBe('rate_limited')
      expect(slow503.seen.length).toBe(1)
      // Refused when the retry asked (~600 ms), not after waiting for the token or the deadline.
      expect(r.ms).toBeGreaterThan(500)
      expect(r.ms).toBeLessThan(1000)
    } finally {
      await s.stop()
    }
  })
})
