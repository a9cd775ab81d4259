// A 3-node Redis Cluster through SLUICE_REDIS_CLUSTER (SPEC section 8): two
// sluices share its buckets exactly, for vendors whose keys live on different
// nodes, and backpressure learnt by one pauses the other.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, call, countStatus, policiesFor, rateLimitedPolicy, redisReady } from './harness.js'

const execFileP = promisify(execFile)

const VENDORS = ['alpha', 'bravo', 'charlie', 'delta']
const CAPACITY = 6

let cluster: RedisClusterHandle
let upstream: Upstream
let a: TestSluice
let b: TestSluice

beforeAll(async () => {
  cluster = await startRedisCluster(3)
  upstream = await startUpstream((req, res) => {
    if (req.url === '/slow-down') {
      res.writeHead(429, { 'retry-after': '30' })
      res.end()
    } else {
      res.end('ok')
    }
  })
  const files = policiesFor(VENDORS, upstream.url, `
buckets:
  - name: burst
    capacity: ${CAPACITY}
    refill: 1/min
    onLimit: reject
  - name: per-tenant
    capacity: 100
    refill: 1/min
    key: header:x-tenant
    onLimit: reject
`)
  files['paused.yaml'] = rateLimitedPolicy('paused', upstream.url, `
buckets:
  - name: burst
    capacity: 100
    refill: 10/s
    onLimit: reject
`)
  const env = { SLUICE_REDIS_CLUSTER: cluster.nodes.join(',') }
  a = await startTestSluice(files, { env, logLevel: 'warn' })
  b = await startTestSluice(files, { env, logLevel: 'warn' })
  await redisReady(a)
  await redisReady(b)
}, 60_000)
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await upstream?.close()
  await cluster?.stop()
})

/** What the sluices logged about Redis, for a failure message: a fallback to local buckets explains a miscount. */
function redisEvents (): string {
  return [a, b].flatMap(s => s.logs.filter(l => String(l.msg).startsWith('redis'))).map(l => `${l.msg} ${JSON.stringify(l.err ?? '')}`).join('; ') || 'no Redis outage logged'
}

it('shares each vendor\'s buckets exactly between two sluices, whichever node holds them', async () => {
  for (const v of VENDORS) {
    const results = [...await burst(`${a.url}/${v}/x`, 5, { 'x-tenant': 't1' }), ...await burst(`${b.url}/${v}/x`, 5, { 'x-tenant': 't1' })]
    expect(countStatus(results, 200), redisEvents()).toBe(CAPACITY)
    expect(countStatus(results, 429)).toBe(10 - CAPACITY)
  }
  expect(upstream.seen.length).toBe(CAPACITY * VENDORS.length)

  // The buckets are spread over more than one node, each vendor's in one slot.
  const nodesWithKeys = new Set<number>()
  for (const port of cluster.ports) {
    const { stdout } = await execFileP(redisCli(), ['-p', String(port), '--scan', '--pattern', 'sluice:*'])
    // The replicas' announcements are not buckets.
    if (stdout.trim().split('\n').some(k => k !== '' && k !== 'sluice:{replicas}')) nodesWithKeys.add(port)
  }
  expect(nodesWithKeys.size).toBeGreaterThan(1)
})

it('pauses a vendor on the other sluice after a 429 with Retry-After', async () => {
  expect((await call(`${a.url}/paused/slow-down`)).status).toBe(429)
  const refused = await call(`${b.url}/paused/x`)
  expect(refused.status, redisEvents()).toBe(429)
  expect(refused.headers['x-sluice-error']).toBe('rate_limited')
  // The bucket is far from empty: it is the vendor's 30 s pause that answers.
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(25)
  expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(30)
})
