// Redis going away mid-run: failMode open answers from local buckets, closed
// refuses with redis_unavailable, neither makes calls wait on Redis timeouts,
// and the limiter goes back to Redis by itself once it answers again.
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { ALL, NO_DEADLINE, redisUpGauge, testLimiter, type TestLimiter, type PolicyLimiter } from './harness.js'
import { policy } from './policy.js'
import { eventually } from '../helpers/wait.js'

const COMMAND_TIMEOUT_MS = 150
let servers: RedisHandle[] = []
let limiters: PolicyLimiter[] = []

afterEach(async () => {
  await Promise.all(limiters.map(l => l.close()))
  for (const s of servers) {
    // A frozen server must be thawed before it can be killed cleanly.
    try { process.kill(s.pid, 'SIGCONT') } catch {}
    await s.stop()
  }
  servers = []
  limiters = []
})

async function setup (): Promise<{ server: RedisHandle, t: TestLimiter }> {
  const server = await startRedis()
  servers.push(server)
  const t = testLimiter({ redisUrl: server.url, redisCommandTimeoutMs: COMMAND_TIMEOUT_MS })
  limiters.push(t.limiter)
  await eventually(() => t.limiter.redisUp, { timeout: 5000, what: 'redis up' })
  return { server, t }
}

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const start = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - start }
}

describe('Redis killed mid-run', () => {
  it('failMode open: local buckets answer at once, then Redis again once it is back', async () => {
    const { server, t } = await setup()
    const { limiter, metrics, logs } = t
    const p = policy({ failMode: 'open', buckets: [{ capacity: 3, perSecond: 0.001 }] })
    for (let i = 0; i < 3; i++) expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(false)
    expect(await redisUpGauge(metrics)).toBe(1)

    await server.stop()
    // The local buckets are this replica's own: full again.
    const local = []
    for (let i = 0; i < 4; i++) local.push(await timed(() => limiter.acquire(p, ALL, NO_DEADLINE)))
    expect(local.map(r => r.value.ok)).toEqual([true, true, true, false])
    for (const r of local) expect(r.ms).toBeLessThan(COMMAND_TIMEOUT_MS)
    expect(limiter.redisUp).toBe(false)
    expect(await redisUpGauge(metrics)).toBe(0)
    expect(logs.filter(l => l.level === 'warn')).toHaveLength(1)

    servers.push(await startRedis({ port: server.port }))
    await eventually(() => limiter.redisUp, { timeout: 5000, what: 'redis back' })
    expect(await redisUpGauge(metrics)).toBe(1)
    expect(logs.at(-1)).toMatchObject({ level: 'info' })
    // The restarted Redis is empty: a fresh shared bucket, and its key is there.
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    const inspect = new Redis(server.url)
    expect(await inspect.exists(`sluice:{${p.vendor}}:b:burst:all`)).toBe(1)
    inspect.disconnect()
  })

  it('failMode closed: redis_unavailable at once, then Redis again once it is back', async () => {
    const { server, t } = await setup()
    const { limiter } = t
    const p = policy({ failMode: 'closed', buckets: [{ capacity: 3, perSecond: 0.001 }] })
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)

    await server.stop()
    for (let i = 0; i < 3; i++) {
      const r = await timed(() => limiter.acquire(p, ALL, NO_DEADLINE))
      expect(r.value).toMatchObject({ ok: false, code: 'redis_unavailable' })
      expect(r.ms).toBeLessThan(COMMAND_TIMEOUT_MS)
    }

    servers.push(await startRedis({ port: server.port }))
    await eventually(() => limiter.redisUp, { timeout: 5000, what: 'redis back' })
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
  })

  it('shadow mode with failMode closed never refuses, but flags the outage', async () => {
    const { server, t } = await setup()
    const p = policy({ mode: 'shadow', failMode: 'closed', buckets: [{ capacity: 3, perSecond: 0.001 }] })
    await server.stop()
    await eventually(() => !t.limiter.redisUp, { timeout: 2000, what: 'redis down' })
    expect(await t.limiter.acquire(p, ALL, NO_DEADLINE)).toMatchObject({ ok: true, code: 'redis_unavailable', wouldLimit: true })
  })
})

describe('Redis frozen mid-run (connection open, no answers)', () => {
  it('only the first decision waits for the command timeout; the rest answer at once; a PING brings Redis back', async () => {
    const { server, t } = await setup()
    const { limiter, metrics } = t
    const open = policy({ failMode: 'open', buckets: [{ capacity: 100, perSecond: 1 }] })
    const closed = policy({ failMode: 'closed', buckets: [{ capacity: 100, perSecond: 1 }] })
    expect((await limiter.acquire(open, ALL, NO_DEADLINE)).ok).toBe(true)

    process.kill(server.pid, 'SIGSTOP')
    const first = await timed(() => limiter.acquire(open, ALL, NO_DEADLINE))
    expect(first.value.ok).toBe(true)
    expect(first.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5)
    expect(first.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 100)
    expect(limiter.redisUp).toBe(false)
    for (let i = 0; i < 20; i++) {
      const r = await timed(() => limiter.acquire(i % 2 === 0 ? open : closed, ALL, NO_DEADLINE))
      expect(r.ms).toBeLessThan(20)
      expect(r.value.ok).toBe(i % 2 === 0)
    }

    process.kill(server.pid, 'SIGCONT')
    await eventually(() => limiter.redisUp, { timeout: 3000, what: 'redis thawed' })
    expect(await redisUpGauge(metrics)).toBe(1)
    expect((await limiter.acquire(closed, ALL, NO_DEADLINE)).ok).toBe(true)
  })
})

describe('Redis unreachable from the start', () => {
  it('is down, serves open vendors locally, refuses closed ones, and comes up when Redis does', async () => {
    const server = await startRedis()
    await server.stop()
    const t = testLimiter({ redisUrl: server.url, redisCommandTimeoutMs: COMMAND_TIMEOUT_MS })
    limiters.push(t.limiter)
    await eventually(() => t.logs.length > 0, { timeout: 2000, what: 'a warning' })
    expect(t.limiter.redisUp).toBe(false)
    expect(t.limiter.usesRedis).toBe(true)
    expect(await redisUpGauge(t.metrics)).toBe(0)
    const open = policy({ failMode: 'open', buckets: [{ capacity: 1, perSecond: 1 }] })
    const closed = policy({ failMode: 'closed', buckets: [{ capacity: 1, perSecond: 1 }] })
    expect((await t.limiter.acquire(open, ALL, NO_DEADLINE)).ok).toBe(true)
    expect(await t.limiter.acquire(closed, ALL, NO_DEADLINE)).toMatchObject({ ok: false, code: 'redis_unavailable' })
    servers.push(await startRedis({ port: server.port }))
    await eventually(() => t.limiter.redisUp, { timeout: 5000, what: 'redis up' })
    expect((await t.limiter.acquire(closed, ALL, NO_DEADLINE)).ok).toBe(true)
  })
})
