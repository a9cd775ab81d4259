// What a call's rate-limit decision costs in-process when it needs no
// waiting: the limiter's promise (acquire(), then the decision applied in a
// .then, awaited: the stage before e840366) against the decision taken at
// once (decide(), applied directly: the stage since). Two cases: a token from
// a Redis lease, and a local (in-memory) bucket with no Redis.
//
//   npm run build && node bench/decide-now.js [--rounds 7] [--calls 200000]
//
// The two ways alternate within each round (a b, then b a) so a neighbour's
// burst of CPU lands on both; the figure is ns per call, median over rounds
// with min–max, and the per-round ratio. Lease calls go in batches of 100
// with the event loop let run between them (so the lease renewals come back
// from Redis); only batches served wholly from the lease are counted.
import { parseArgs } from 'node:util'
import { setImmediate as yieldLoop } from 'node:timers/promises'
import { startRedis } from './lib/redis.js'
import { spread } from './lib/stats.js'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    calls: { type: 'string', default: '200000' },
  },
})
const ROUNDS = Number(args.rounds)
const CALLS = Number(args.calls)
const BATCH = 100

const dist = (path) => import(new URL(`../dist/${path}`, import.meta.url).href)
const { Metrics } = await dist('observability/metrics.js')
const { compilePolicy } = await dist('policy/compile.js')
const { applyDefaults } = await dist('policy/defaults.js')
const { compilePlan, createRateLimiter } = await dist('ratelimit/index.js')

// A bucket no bench run can empty: every call is admitted at once, and its leases are the largest (LEASE_MAX).
const policy = compilePolicy(applyDefaults({
  vendor: 'bench',
  upstream: 'http://127.0.0.1:1',
  rateLimit: { buckets: [{ name: 'all', capacity: 1e9, refill: '1000000000/s', onLimit: 'reject' }] },
}, undefined), '/policies/bench.yaml')

const logger = { warn () {}, info () {} }
const keys = ['-']
const waiter = { cancelWait: undefined, clientGone: false }

/** What the stage does with a decision: the call holds its tokens. */
function apply (call, decision) {
  call.tokens = decision
}

/**
 * ns per call of `calls` calls, made the old way (`promise`: acquire's
 * promise, applied in a .then, awaited) or the new one (applied at once when
 * decided at once); with `leased`, only batches every call of which a lease served.
 */
async function run (promise, limiter, plan, calls, leased) {
  const call = { tokens: undefined }
  let ns = 0n
  let counted = 0
  let batches = 0
  while (counted < calls && batches < (calls / BATCH) * 20) {
    batches++
    let fromLease = true
    const start = process.hrtime.bigint()
    for (let i = 0; i < BATCH; i++) {
      if (promise) {
        await limiter.acquire(plan, keys, Date.now() + 30_000, waiter).then(d => apply(call, d))
      } else {
        const d = limiter.decide(plan, keys, Date.now() + 30_000, waiter)
        if (d instanceof Promise) await d.then(decision => apply(call, decision))
        else apply(call, d)
      }
      if (leased && call.tokens.store !== 'lease') fromLease = false
    }
    const took = process.hrtime.bigint() - start
    if (fromLease) {
      ns += took
      counted += BATCH
    }
    // Let Redis answers (a lease renewed) and the lease sweeper in.
    if (leased) await yieldLoop()
  }
  if (counted === 0) throw new Error('no batch was served from the lease')
  return Number(ns) / counted
}

async function measure (name, limiter, plan, leased) {
  // Warm-up: JIT, the Lua script cached, the lease sized at the loop's rate.
  await run(true, limiter, plan, CALLS / 4, leased)
  await run(false, limiter, plan, CALLS / 4, leased)
  const promise = []
  const decide = []
  const ratio = []
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['p', 'd'] : ['d', 'p']
    const got = {}
    for (const w of order) got[w] = await run(w === 'p', limiter, plan, CALLS, leased)
    promise.push(got.p)
    decide.push(got.d)
    ratio.push(got.d / got.p)
  }
  const fmt = (s, digits = 0) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`
  console.log(`| ${name} | ${fmt(spread(promise))} | ${fmt(spread(decide))} | ${fmt(spread(ratio), 3)} |`)
}

console.log(`${ROUNDS} rounds × ${CALLS} calls per way; ns per call, median (min–max)\n`)
console.log('| case | acquire().then, awaited | decide(), applied at once | decide ÷ acquire |')
console.log('|---|---|---|---|')

const redis = await startRedis()
try {
  const metrics = new Metrics({ processMetrics: false })
  const shared = createRateLimiter({ redisUrl: redis.url, metrics, logger })
  await shared.ready()
  await measure('Redis lease hit', shared, compilePlan(policy, metrics), true)
  await shared.close()

  const localMetrics = new Metrics({ processMetrics: false })
  const local = createRateLimiter({ metrics: localMetrics, logger })
  await measure('local bucket, no Redis', local, compilePlan(policy, localMetrics), false)
  await local.close()
} finally {
  await redis.stop()
}
