// Shared pieces of the end-to-end rate limit tests: policy text, sluices
// deciding in memory or in Redis, bursts of calls through them, and readers for
// their /metrics and /readyz.
import { request } from 'undici'
import type { RedisHandle } from '../helpers/redis.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { metricValue, metricsText as metricsTextOf } from '../helpers/metrics.js'
import { eventually } from '../helpers/wait.js'

/**
 * A vendor policy with the given rateLimit block (YAML, indented under
 * `rateLimit:`); retries off unless `retry` (YAML under `retry:`) says
 * otherwise, so counts stay exact; `extra` holds more top-level fields.
 */
export function rateLimitedPolicy (vendor: string, upstream: string, rateLimit: string, opts: { extra?: string, retry?: string } = {}): string {
  return [
    `vendor: ${vendor}`,
    `upstream: ${upstream}`,
    'retry:',
    ...(opts.retry ?? 'attempts: 1').trim().split('\n').map(l => '  ' + l),
    'circuitBreaker:',
    '  enabled: false',
    'rateLimit:',
    ...rateLimit.trim().split('\n').map(l => '  ' + l),
    (opts.extra ?? '').trim(),
    '',
  ].join('\n')
}

/** One policy file per vendor, each with the same rateLimit block: keys of several vendors land on different cluster nodes. */
export function policiesFor (vendors: readonly string[], upstream: string, rateLimit: string): Record<string, string> {
  return Object.fromEntries(vendors.map(v => [`${v}.yaml`, rateLimitedPolicy(v, upstream, rateLimit)]))
}

/** One reject bucket of 5 refilling 1/min, with this failMode: for the tests of Redis coming and going. */
export function failModePolicy (vendor: string, upstream: string, failMode: 'open' | 'closed'): string {
  return rateLimitedPolicy(vendor, upstream, `
failMode: ${failMode}
buckets:
  - name: burst
    capacity: 5
    refill: 1/min
    onLimit: reject
`)
}

/**
 * A sluice with these policy files deciding in `redis` (SLUICE_REDIS_URL),
 * returned once it does (sluice_redis_up 1), so no call falls back to memory.
 */
export async function startRedisSluice (files: Record<string, string>, redis: RedisHandle, opts: { logLevel?: string, redisTimeout?: string, announce?: { everyMs: number, ttlMs: number } } = {}): Promise<TestSluice> {
  // A long command timeout unless the test is about Redis hanging: on a loaded
  // machine the 150 ms default can fire, and the call is then decided locally.
  const env = { SLUICE_REDIS_URL: redis.url, SLUICE_REDIS_TIMEOUT: opts.redisTimeout ?? '3s' }
  const s = await startTestSluice(files, { ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }), ...(opts.announce === undefined ? {} : { announce: opts.announce }), env })
  try {
    await redisReady(s)
  } catch (err) {
    await s.stop()
    throw err
  }
  return s
}

export type Store = 'memory' | 'redis'

/** Where a sluice keeps its buckets; a behaviour that holds in both is checked in both (describe.each). */
export const STORES: Array<{ store: Store }> = [{ store: 'memory' }, { store: 'redis' }]

/** A sluice keeping its buckets in memory (no Redis configured), or in `redis` as startRedisSluice. */
export async function startStoreSluice (files: Record<string, string>, store: Store, redis: RedisHandle): Promise<TestSluice> {
  return store === 'redis' ? await startRedisSluice(files, redis) : await startTestSluice(files)
}

export interface CallResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** when the answer arrived, ms after the call was sent */
  ms: number
}

export async function call (url: string, headers: Record<string, string> = {}): Promise<CallResult> {
  const started = performance.now()
  const res = await request(url, { headers })
  const body = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started }
}

/** `n` calls sent at once. */
export async function burst (url: string, n: number, headers: Record<string, string> = {}): Promise<CallResult[]> {
  return await Promise.all(Array.from({ length: n }, () => call(url, headers)))
}

export function countStatus (results: CallResult[], status: number): number {
  return results.filter(r => r.status === status).length
}

/** The value of `name` over the samples carrying `labels` (see metricValue); 0 for a counter nothing has counted yet. */
export async function metric (s: TestSluice, name: string, labels: Record<string, string> = {}): Promise<number> {
  return await metricValue(s.adminUrl, name, labels) ?? 0
}

export async function metricsText (s: TestSluice): Promise<string> {
  return await metricsTextOf(s.adminUrl)
}

export async function readyz (s: TestSluice): Promise<number> {
  const res = await request(`${s.adminUrl}/readyz`)
  await res.body.dump()
  return res.statusCode
}

/** Until the sluice decides in Redis (sluice_redis_up 1). */
export async function redisReady (s: TestSluice): Promise<void> {
  await eventually(async () => await metric(s, 'sluice_redis_up') === 1, { timeout: 5000, what: 'sluice_redis_up 1' })
}
