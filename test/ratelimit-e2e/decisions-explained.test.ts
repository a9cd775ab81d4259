// Decisions that explain themselves, in memory and in Redis: a 429 names the
// bucket that refused, the request log line carries that bucket, the call's
// cost when not 1 and each keyed bucket's key hashed (never the raw value),
// and with rateLimit.headers relayed answers carry RateLimit-Policy and
// RateLimit for the bucket closest to refusing.
import { createHash } from 'node:crypto'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, rateLimitedPolicy, startStoreSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

const TENANT = 'tenant-secret-4711'

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let s: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream((_req, res, body) => {
      const actual = (JSON.parse(body.toString() || '{}') as { actual?: number }).actual
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ usage: { total_tokens: actual ?? 1 } }))
    })
    s = await startStoreSluice({
      'named.yaml': rateLimitedPolicy('named', up.url, `
buckets:
  - name: wide
    capacity: 1000
    refill: 1000/day
  - name: daily
    capacity: 2
    refill: 2/day
    onLimit: reject
`),
      'advertised.yaml': rateLimitedPolicy('advertised', up.url, `
headers: true
buckets:
  - name: requests
    capacity: 10
    refill: 10/day
    onLimit: reject
  - name: tokens
    capacity: 10000
    refill: 10000/min
    onLimit: reject
    cost:
      request: json:max_tokens
      response: json:usage.total_tokens
`),
      'keyed.yaml': rateLimitedPolicy('keyed', up.url, `
buckets:
  - name: tenant
    capacity: 100
    refill: 100/day
    key: header:x-tenant
  - name: client
    capacity: 100
    refill: 100/day
    key: ip
  - name: all
    capacity: 100
    refill: 100/day
`),
    }, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await up?.close()
    await redis?.stop()
  })

  async function lineFor (path: string): Promise<Record<string, unknown>> {
    await eventually(() => requestLines(s).some(l => l.path === path), { timeout: 10_000, what: `the log line of ${path}` })
    return requestLines(s).find(l => l.path === path) as Record<string, unknown>
  }

  it('names the refusing bucket in the 429 body and the log line', async () => {
    expect((await call(`${s.url}/named/a`)).status).toBe(200)
    expect((await call(`${s.url}/named/b`)).status).toBe(200)
    const refused = await call(`${s.url}/named/c`)
    expect(refused.status).toBe(429)
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'rate_limited', vendor: 'named', bucket: 'daily' })
    expect(await lineFor('/named/c')).toMatchObject({ status: 429, error: 'rate_limited', bucket: 'daily' })
    // A call that neither waited nor was refused names no bucket.
    expect((await lineFor('/named/a')).bucket).toBeUndefined()
  })

  it('sends RateLimit-Policy and RateLimit for the bucket closest to refusing, and logs the cost', async () => {
    const post = async (path: string, body: object): Promise<Record<string, string | string[] | undefined>> => {
      const res = await request(`${s.url}/advertised${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      await res.body.dump()
      expect(res.statusCode).toBe(200)
      return res.headers
    }
    // 9 of 10 requests left, 9,900 of 10,000 tokens: the requests bucket is closer to refusing.
    const first = await post('/small', { max_tokens: 100, actual: 100 })
    expect(first['ratelimit-policy']).toBe('"requests";q=10;w=86400')
    expect(first.ratelimit).toMatch(/^"requests";r=9;t=\d+$/)
    // 9,000 of the tokens reserved: 900 left (9 %), below 8 of 10 requests.
    const second = await post('/big', { max_tokens: 9000, actual: 9000 })
    expect(second['ratelimit-policy']).toBe('"tokens";q=10000;w=60')
    expect(second.ratelimit).toMatch(/^"tokens";r=9\d\d;t=(5\d|6\d)$/)
    expect(await lineFor('/advertised/big')).toMatchObject({ status: 200, cost: 9000 })
    // A cost of 1 is not logged.
    const third = await post('/one', { max_tokens: 1, actual: 1 })
    expect(third.ratelimit).toBeDefined()
    expect((await lineFor('/advertised/one')).cost).toBeUndefined()
  })

  it('sends no RateLimit headers without rateLimit.headers', async () => {
    const r = await call(`${s.url}/keyed/plain`)
    expect(r.headers['ratelimit']).toBeUndefined()
    expect(r.headers['ratelimit-policy']).toBeUndefined()
  })

  it('logs each keyed bucket\'s key as a hash, never the raw tenant value', async () => {
    expect((await call(`${s.url}/keyed/k`, { 'x-tenant': TENANT })).status).toBe(200)
    const line = await lineFor('/keyed/k')
    const hash = (v: string): string => createHash('sha256').update(v).digest('hex').slice(0, 16)
    expect(line.keys).toEqual({ tenant: hash(TENANT), client: hash('127.0.0.1') })
    expect(s.logText()).not.toContain(TENANT)
  })
})
