// The rate-limit stage on its own (real runtime, real limiter, no listener): a
// decision made at once (the local buckets, a leased token, a refusal) is
// applied before takeTokens returns, with no promise to wait for: ctx.tokens
// is set, or the refusal is thrown. A decision in Redis, or a queue wait,
// still hands back a promise.
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SluiceError } from '../../src/errors.js'
import { Metrics } from '../../src/observability/metrics.js'
import { CallContext, type RoutedCall } from '../../src/pipeline/context.js'
import { takeTokens } from '../../src/pipeline/rate-limit.js'
import { routeTo } from '../../src/pipeline/route.js'
import { createRateLimiter } from '../../src/ratelimit/index.js'
import { ProxyRuntime } from '../../src/runtime/proxy-runtime.js'
import { vendorPolicy, type RawPolicy } from '../helpers/policy.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { eventually } from '../helpers/wait.js'

let redis: RedisHandle
const runtimes: ProxyRuntime[] = []

beforeAll(async () => { redis = await startRedis() })
afterEach(async () => { await Promise.all(runtimes.splice(0).map(r => r.close())) })
afterAll(async () => { await redis.stop() })

async function runtimeOf (rateLimit: NonNullable<RawPolicy['rateLimit']>, redisUrl?: string): Promise<ProxyRuntime> {
  const metrics = new Metrics({ processMetrics: false })
  const logger = pino({ level: 'silent' })
  const limiter = createRateLimiter({ metrics, logger, ...(redisUrl === undefined ? {} : { redisUrl }) })
  await limiter.ready()
  const runtime = new ProxyRuntime({ vendors: [vendorPolicy({ rateLimit })], files: [] }, { metrics, logger, limiter, clientTimeoutMs: 30_000 })
  runtimes.push(runtime)
  return runtime
}

/** A call routed to the runtime's one vendor, as route() and startDeadline() leave it. */
function callTo (runtime: ProxyRuntime): RoutedCall {
  const req = new IncomingMessage(new Socket())
  req.method = 'GET'
  req.url = '/acme/v1/thing'
  const ctx = new CallContext(runtime, req, new ServerResponse(req))
  routeTo(ctx, runtime.current.vendors[0]!, '/v1/thing')
  ctx.deadline = Date.now() + 10_000
  return ctx
}

const bucket = (capacity: number, refill: string, onLimit: 'reject' | 'queue' = 'reject'): NonNullable<RawPolicy['rateLimit']> => ({
  buckets: [{ name: 'burst', capacity, refill, onLimit, maxWait: '2s' }],
})

describe('takeTokens, local buckets (no Redis)', () => {
  it('admits at once: nothing to wait for, the tokens are on the call', async () => {
    const ctx = callTo(await runtimeOf(bucket(2, '1/min')))
    expect(takeTokens(ctx)).toBeUndefined()
    expect(ctx.tokens).toMatchObject({ ok: true, store: 'memory' })
    expect(ctx.waitMs).toBe(0)
  })

  it('refuses at once: the 429 is thrown, with its Retry-After', async () => {
    const runtime = await runtimeOf(bucket(1, '30/min'))
    expect(takeTokens(callTo(runtime))).toBeUndefined()
    const refused = callTo(runtime)
    let thrown: unknown
    try {
      takeTokens(refused)
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(SluiceError)
    expect(thrown).toMatchObject({ code: 'rate_limited', retryAfterSec: 2, bucket: 'burst' })
    expect(refused.tokens).toBeUndefined()
    expect(refused.rateBucket).toBe('burst')
  })

  it('a call that queues still waits on a promise, and then has its tokens', async () => {
    const runtime = await runtimeOf(bucket(1, '20/s', 'queue'))
    expect(takeTokens(callTo(runtime))).toBeUndefined()
    const queued = callTo(runtime)
    const waiting = takeTokens(queued)
    expect(waiting).toBeInstanceOf(Promise)
    expect(queued.tokens).toBeUndefined()
    await waiting
    expect(queued.tokens).toMatchObject({ ok: true, store: 'memory', bucket: 'burst' })
    expect(queued.waitMs).toBeGreaterThan(0)
  })
})

describe('takeTokens, Redis buckets', () => {
  it('waits on a promise for a decision in Redis', async () => {
    const ctx = callTo(await runtimeOf(bucket(5, '1/min'), redis.url))
    const decided = takeTokens(ctx)
    expect(decided).toBeInstanceOf(Promise)
    expect(ctx.tokens).toBeUndefined()
    await decided
    expect(ctx.tokens).toMatchObject({ ok: true, store: 'redis' })
  })

  it('takes a leased token at once, with no Redis call to wait for', async () => {
    // A bucket big enough to lease: calls at a steady rate soon hold one.
    const runtime = await runtimeOf(bucket(100_000, '100000/s'), redis.url)
    let leased: RoutedCall | undefined
    await eventually(async () => {
      const ctx = callTo(runtime)
      const decided = takeTokens(ctx)
      if (decided === undefined) leased = ctx
      else await decided
      return leased !== undefined
    }, { timeout: 5000, every: 1, what: 'a call served from a lease' })
    expect(leased?.tokens).toMatchObject({ ok: true, store: 'lease' })
  })
})
