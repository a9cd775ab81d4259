// Vendor backpressure across replicas (SPEC sections 4 and 8): when the vendor
// tells one sluice to hold off (429 + Retry-After, or remaining 0 + reset),
// a second sluice sharing the Redis holds off too until the pause ends: its
// calls queue or are refused, and none reaches the vendor meanwhile.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, rateLimitedPolicy, startRedisSluice } from './harness.js'
import { eventually, sleep } from '../helpers/wait.js'

const execFileP = promisify(execFile)

let redis: RedisHandle
/** /slow-down answers 429 Retry-After: 2; /last-one answers 200 with remaining 0, reset in 2 s; anything else 200 */
let upstream: Upstream
/** performance.now() of each arrival, by path */
const arrivals: Array<{ url: string, at: number }> = []

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream((req, res) => {
    arrivals.push({ url: req.url ?? '', at: performance.now() })
    if (req.url === '/slow-down') {
      res.writeHead(429, { 'retry-after': '2', 'content-type': 'application/json' })
      res.end('{"error":"slow down"}')
    } else if (req.url === '/last-one') {
      res.writeHead(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' })
      res.end('ok')
    } else {
      res.end('ok')
    }
  })
})
afterAll(async () => {
  await upstream.close()
  await redis.stop()
})

async function twoSluices (vendor: string, onLimit: 'queue' | 'reject'): Promise<[TestSluice, TestSluice]> {
  const policy = rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: burst
    capacity: 100
    refill: 100/s
    onLimit: ${onLimit}
    maxWait: 5s
upstream:
  retryAfter: true
  remainingHeader: x-ratelimit-remaining
  resetHeader: x-ratelimit-reset
`)
  return [await startRedisSluice({ 'v.yaml': policy }, redis), await startRedisSluice({ 'v.yaml': policy }, redis)]
}

async function pauseKeyExists (vendor: string): Promise<boolean> {
  const { stdout } = await execFileP(redisCli(), ['-p', String(redis.port), 'exists', `sluice:{${vendor}}:pause`])
  return stdout.trim() === '1'
}

describe('a 429 with Retry-After seen by one sluice', () => {
  it('makes a second sluice queue its calls until the pause ends', async () => {
    const [a, b] = await twoSluices('pause-queue', 'queue')
    try {
      const told = await call(`${a.url}/pause-queue/slow-down`)
      // The vendor's own answer is relayed, not rewritten.
      expect(told.status).toBe(429)
      expect(told.headers['x-sluice-error']).toBeUndefined()
      const learntAt = performance.now()
      await eventually(() => pauseKeyExists('pause-queue'), { timeout: 1000, what: 'the pause key in Redis' })

      const held = await call(`${b.url}/pause-queue/after`)
      expect(held.status).toBe(200)
      const arrived = arrivals.find(x => x.url === '/after')!.at
      // Not before the 2 s pause is over, and not much after.
      expect(arrived - learntAt).toBeGreaterThan(1700)
      expect(arrived - learntAt).toBeLessThan(2700)
      const line = b.logs.find(l => l.msg === 'request')!
      expect(line.waitMs).toBeGreaterThan(1500)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('makes a second sluice refuse its calls with the pause as Retry-After', async () => {
    const [a, b] = await twoSluices('pause-reject', 'reject')
    try {
      expect((await call(`${a.url}/pause-reject/slow-down`)).status).toBe(429)
      await eventually(() => pauseKeyExists('pause-reject'), { timeout: 1000, what: 'the pause key in Redis' })
      const before = arrivals.length

      const refused = await call(`${b.url}/pause-reject/after`)
      expect(refused.status).toBe(429)
      expect(refused.headers['x-sluice-error']).toBe('rate_limited')
      expect(refused.headers['retry-after']).toBe('2')
      expect(arrivals.length).toBe(before)

      await sleep(2100)
      expect((await call(`${b.url}/pause-reject/after`)).status).toBe(200)
      expect(arrivals.length).toBe(before + 1)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})

describe('remainingHeader 0 with resetHeader, seen by one sluice', () => {
  it('holds off a second sluice until the reset', async () => {
    const [a, b] = await twoSluices('remaining', 'reject')
    try {
      expect((await call(`${a.url}/remaining/last-one`)).status).toBe(200)
      await eventually(() => pauseKeyExists('remaining'), { timeout: 1000, what: 'the pause key in Redis' })
      const before = arrivals.length

      const refused = await call(`${b.url}/remaining/after`)
      expect(refused.status).toBe(429)
      expect(refused.headers['x-sluice-error']).toBe('rate_limited')
      expect(Number(refused.headers['retry-after'])).toBe(2)
      // The sluice that learnt it holds off as well.
      expect((await call(`${a.url}/remaining/after`)).status).toBe(429)
      expect(arrivals.length).toBe(before)

      await sleep(2100)
      expect((await call(`${b.url}/remaining/after`)).status).toBe(200)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
