// Redis as managed services run it: a password and TLS only (SPEC section 8).
// A 3-node cluster with TLS on every port (the bus included) and requirepass,
// reached through SLUICE_REDIS_CLUSTER URL seeds, and a standalone server
// through a rediss:// SLUICE_REDIS_URL; the private CA comes from
// SLUICE_REDIS_CA_FILE. The password never shows in a log line or on /metrics.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { cliArgs, startRedis, startRedisCluster, type RedisClusterHandle, type RedisHandle, type RedisSecurity } from '../helpers/redis.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { makeTestCertificates, type TestCertificates } from '../helpers/tls.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, countStatus, metric, metricsText, policiesFor, redisReady } from './harness.js'

const execFileP = promisify(execFile)

// Characters a URL must percent-encode, so the decoding is tested too.
const PASSWORD = 'pw/with:odd@chars#1'
const CAPACITY = 6
const VENDORS = ['alpha', 'bravo', 'charlie']

let certs: TestCertificates
let security: RedisSecurity
let upstream: Upstream
const started: TestSluice[] = []

beforeAll(async () => {
  certs = await makeTestCertificates()
  security = { password: PASSWORD, tls: certs }
  upstream = await startUpstream((_req, res) => { res.end('ok') })
}, 30_000)
afterAll(async () => {
  await Promise.all(started.map(s => s.stop()))
  await upstream?.close()
  await certs?.remove()
})

function policies (): Record<string, string> {
  return policiesFor(VENDORS, upstream.url, `
buckets:
  - name: burst
    capacity: ${CAPACITY}
    refill: 1/min
    onLimit: reject
`)
}

async function sluiceWith (env: Record<string, string>): Promise<TestSluice> {
  const s = await startTestSluice(policies(), { env, logLevel: 'info' })
  started.push(s)
  return s
}

function expectNoPassword (s: TestSluice): void {
  expect(s.logText()).not.toContain(PASSWORD)
  expect(s.logText()).not.toContain(encodeURIComponent(PASSWORD))
}

describe('a Redis Cluster with a password and TLS', () => {
  let cluster: RedisClusterHandle
  let seeds: string

  beforeAll(async () => {
    cluster = await startRedisCluster(3, security)
    // One URL seed carries the login and the scheme; the plain seeds get them too.
    const [first, ...rest] = cluster.nodes
    seeds = [`rediss://:${encodeURIComponent(PASSWORD)}@${first}`, ...rest].join(',')
  }, 60_000)
  afterAll(async () => { await cluster?.stop() })

  it('is shared exactly by two sluices given URL seeds and the CA file', async () => {
    const env = { SLUICE_REDIS_CLUSTER: seeds, SLUICE_REDIS_CA_FILE: certs.caFile, SLUICE_REDIS_TIMEOUT: '3s' }
    const a = await sluiceWith(env)
    const b = await sluiceWith(env)
    await redisReady(a)
    await redisReady(b)
    for (const v of VENDORS) {
      const results = [...await burst(`${a.url}/${v}/x`, 5), ...await burst(`${b.url}/${v}/x`, 5)]
      expect(countStatus(results, 200)).toBe(CAPACITY)
      expect(countStatus(results, 429)).toBe(10 - CAPACITY)
    }
    // The buckets are in the cluster, over more than one node.
    const holding = new Set<number>()
    for (const port of cluster.ports) {
      const { stdout } = await execFileP(redisCli(), [...cliArgs(security), '-p', String(port), '--scan', '--pattern', 'sluice:*'])
      // The replicas' announcements are not buckets.
      if (stdout.trim().split('\n').some(k => k !== '' && k !== 'sluice:{replicas}')) holding.add(port)
    }
    expect(holding.size).toBeGreaterThan(1)
    for (const s of [a, b]) {
      expectNoPassword(s)
      expect(await metricsText(s)).not.toContain(PASSWORD)
    }
  })

  it('stays down, and says so, without the CA that signed the cluster\'s certificate', async () => {
    const s = await sluiceWith({ SLUICE_REDIS_CLUSTER: seeds })
    expect(await metric(s, 'sluice_redis_up')).toBe(0)
    // failMode open (the policy's default): calls are limited by local buckets meanwhile.
    const results = await burst(`${s.url}/alpha/x`, 3)
    expect(countStatus(results, 200)).toBe(3)
    expect(s.logs.some(l => String(l.msg).startsWith('redis unavailable'))).toBe(true)
    expectNoPassword(s)
  })
})

describe('a standalone Redis with a password and TLS', () => {
  let redis: RedisHandle

  beforeAll(async () => {
    redis = await startRedis({ security })
  }, 30_000)
  afterAll(async () => { await redis?.stop() })

  it('keeps the buckets when reached by a rediss:// URL with the CA file', async () => {
    expect(redis.url.startsWith('rediss://:')).toBe(true)
    const s = await sluiceWith({ SLUICE_REDIS_URL: redis.url, SLUICE_REDIS_CA_FILE: certs.caFile })
    await redisReady(s)
    const results = await burst(`${s.url}/bravo/x`, 8)
    expect(countStatus(results, 200)).toBe(CAPACITY)
    const { stdout } = await execFileP(redisCli(), [...cliArgs(security), '-p', String(redis.port), '--scan', '--pattern', 'sluice:*'])
    expect(stdout).toContain('bravo')
    expectNoPassword(s)
  })

  it('refuses to start on a CA file that holds no certificate', async () => {
    await expect(startTestSluice(policies(), { env: { SLUICE_REDIS_URL: redis.url, SLUICE_REDIS_CA_FILE: certs.keyFile } }))
      .rejects.toThrow(/SLUICE_REDIS_CA_FILE: .* holds no PEM certificate/)
  })
})
