// Redis going away mid-run, through a real sluice (SPEC sections 7 and 8):
// failMode open keeps serving from local buckets without making calls wait on
// Redis, failMode closed refuses at once with 503 redis_unavailable and turns
// /readyz 503; a Redis back on the same port is used again by itself, and
// learns the vendor pauses a replica kept to itself meanwhile.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, call, countStatus, failModePolicy, metric, rateLimitedPolicy, readyz, redisReady, startRedisSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

const execFileP = promisify(execFile)

/** Each test's servers, stopped after it whatever happened. */
const running: Array<{ stop (): Promise<void> }> = []
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop()
})

async function setUp (vendor: string, failMode: 'open' | 'closed'): Promise<{ redis: RedisHandle, upstream: Upstream, s: TestSluice }> {
  const redis = await startRedis()
  running.push(redis)
  const upstream = await startUpstream()
  running.push({ stop: () => upstream.close() })
  const s = await startRedisSluice({ 'v.yaml': failModePolicy(vendor, upstream.url, failMode) }, redis, { logLevel: 'warn', redisTimeout: '150ms' })
  running.push(s)
  return { redis, upstream, s }
}

async function redisKeys (port: number): Promise<string[]> {
  const { stdout } = await execFileP(redisCli(), ['-p', String(port), '--scan', '--pattern', 'sluice:*'])
  // The replicas' announcements are not buckets.
  return stdout.trim().split('\n').filter(k => k !== '' && k !== 'sluice:{replicas}')
}

/** Restarts Redis on its old port; the new handle replaces the old one for cleanup. */
async function restart (old: RedisHandle): Promise<RedisHandle> {
  const redis = await startRedis({ port: old.port })
  running.push(redis)
  return redis
}

describe('failMode open', () => {
  it('serves from local buckets at once while Redis is down, then goes back to Redis', async () => {
    const { redis, upstream, s } = await setUp('outage-open', 'open')
    const url = `${s.url}/outage-open/x`
    expect(countStatus(await burst(url, 3), 200)).toBe(3) // the shared bucket has 2 left

    await redis.stop()
    // Every call is answered without waiting on Redis, from a local bucket that
    // still limits: capacity 5 of this replica's own.
    const during = []
    for (let i = 0; i < 8; i++) during.push(await call(url))
    expect(during.map(r => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
    for (const r of during) expect(r.ms).toBeLessThan(100)
    expect(upstream.seen.length).toBe(8)
    expect(await metric(s, 'sluice_redis_up')).toBe(0)
    expect(await readyz(s)).toBe(200)

    const back = await restart(redis)
    await redisReady(s)
    expect(await readyz(s)).toBe(200)
    // Decisions are made in Redis again: the fresh server's bucket is full and now holds the key.
    expect(countStatus(await burst(url, 6), 200)).toBe(5)
    expect(await redisKeys(back.port)).toEqual(['sluice:{outage-open}:b:burst:all'])
  })

  it('keeps calls fast while Redis hangs (frozen, not gone): only the first waits for the command timeout', async () => {
    const { redis, s } = await setUp('frozen-open', 'open')
    const url = `${s.url}/frozen-open/x`
    expect((await call(url)).status).toBe(200)

    process.kill(redis.pid, 'SIGSTOP')
    try {
      const first = await call(url)
      expect(first.status).toBe(200)
      expect(first.ms).toBeLessThan(1000)
      const next = []
      for (let i = 0; i < 3; i++) next.push(await call(url))
      expect(next.map(r => r.status)).toEqual([200, 200, 200])
      for (const r of next) expect(r.ms).toBeLessThan(100)
      expect(await metric(s, 'sluice_redis_up')).toBe(0)
    } finally {
      process.kill(redis.pid, 'SIGCONT')
    }
    await redisReady(s)
  })
})

describe('failMode closed', () => {
  it('answers 503 redis_unavailable at once and turns /readyz 503 while Redis is down, then recovers', async () => {
    const { redis, upstream, s } = await setUp('outage-closed', 'closed')
    const url = `${s.url}/outage-closed/x`
    expect((await call(url)).status).toBe(200)
    expect(await readyz(s)).toBe(200)

    await redis.stop()
    await eventually(async () => await metric(s, 'sluice_redis_up') === 0, { timeout: 2000, what: 'sluice_redis_up 0' })
    const refused = await burst(url, 4)
    for (const r of refused) {
      expect(r.status).toBe(503)
      expect(r.headers['x-sluice-error']).toBe('redis_unavailable')
      expect(JSON.parse(r.body)).toMatchObject({ error: 'redis_unavailable', vendor: 'outage-closed' })
      expect(r.ms).toBeLessThan(100)
    }
    expect(upstream.seen.length).toBe(1)
    expect(await readyz(s)).toBe(503)

    await restart(redis)
    await redisReady(s)
    expect(await readyz(s)).toBe(200)
    expect((await call(url)).status).toBe(200)
    expect(upstream.seen.length).toBe(2)
  })

  it('refuses the very first call after Redis dies, without waiting for a timeout', async () => {
    const { redis, s } = await setUp('closed-first', 'closed')
    await redis.stop()
    const r = await call(`${s.url}/closed-first/x`)
    expect(r.status).toBe(503)
    expect(r.headers['x-sluice-error']).toBe('redis_unavailable')
    expect(r.ms).toBeLessThan(500)
  })
})

describe('a vendor pause learnt while Redis is down', () => {
  it('reaches the other replicas once Redis is back', async () => {
    const redis = await startRedis()
    running.push(redis)
    const upstream = await startUpstream((req, res) => {
      if (req.url === '/slow-down') {
        res.writeHead(429, { 'retry-after': '30' })
        res.end()
      } else {
        res.end('ok')
      }
    })
    running.push({ stop: () => upstream.close() })
    const files = {
      'v.yaml': rateLimitedPolicy('outage-pause', upstream.url, `
buckets:
  - name: roomy
    capacity: 100
    refill: 10/s
    onLimit: reject
`),
    }
    const a = await startRedisSluice(files, redis, { logLevel: 'warn' })
    running.push(a)
    const b = await startRedisSluice(files, redis, { logLevel: 'warn' })
    running.push(b)

    await redis.stop()
    // a learns the vendor's 30 s pause while it cannot tell Redis.
    expect((await call(`${a.url}/outage-pause/slow-down`)).status).toBe(429)
    expect(await metric(a, 'sluice_redis_up')).toBe(0)

    await restart(redis)
    await redisReady(a)
    await redisReady(b)
    // a tells Redis as soon as it is back (the Redis on the old port started empty).
    await eventually(async () => {
      const { stdout } = await execFileP(redisCli(), ['-p', String(redis.port), 'PTTL', 'sluice:{outage-pause}:pause'])
      return Number(stdout) > 20_000
    }, { timeout: 3000, what: 'the pause in Redis' })
    const r = await call(`${b.url}/outage-pause/x`)
    expect(r.status).toBe(429)
    expect(r.headers['x-sluice-error']).toBe('rate_limited')
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(20)
    expect(upstream.seen.filter(q => q.url === '/x').length).toBe(0)
  })
})
