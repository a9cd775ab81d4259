// Leased tokens through real sluices (SPEC section 8): three sluices sharing
// one Redis lease tokens of a high-rate bucket in batches, and together admit
// exactly the tokens they took from it. Nothing here depends on how fast the
// machine is: the bucket is read back from Redis and its tokens counted by its
// own clock (the `at` Redis TIME wrote), so a slow run that never empties the
// bucket is checked as exactly as a fast one that is refused half its calls.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, rateLimitedPolicy, startRedisSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

const execFileP = promisify(execFile)

// Never full during a test (a full bucket drops its refill, which would hide
// tokens), and refilling fast enough that a lease holds many tokens.
const CAPACITY = 1_000_000
const REFILL_PER_MS = 1
const WORKERS_PER_SLUICE = 16

let redis: RedisHandle
let client: Redis
let upstream: Upstream
/** calls that reached the upstream, per path */
const arrivals: Record<string, number> = { '/burst': 0, '/pressed': 0 }
const sluices: TestSluice[] = []

// failMode closed: a call decided while this replica thinks Redis is down
// (on a loaded machine its 150 ms command timeout can pass) is refused, never
// admitted from a local bucket the shared count knows nothing of.
const bucketPolicy = (vendor: string): string => rateLimitedPolicy(vendor, upstream.url, `
failMode: closed
buckets:
  - name: wide
    capacity: ${CAPACITY}
    refill: ${REFILL_PER_MS * 1000}/s
    onLimit: reject
`)

beforeAll(async () => {
  redis = await startRedis()
  client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  upstream = await startUpstream((req, res) => {
    if (req.url !== undefined && req.url in arrivals) arrivals[req.url]!++
    res.end('ok')
  })
  for (let i = 0; i < 3; i++) {
    sluices.push(await startRedisSluice({ 'burst.yaml': bucketPolicy('burst'), 'pressed.yaml': bucketPolicy('pressed') }, redis, { logLevel: 'warn' }))
  }
})
afterAll(async () => {
  await Promise.all(sluices.map(s => s.stop()))
  client.disconnect()
  await upstream.close()
  await redis.stop()
})

async function scriptCalls (): Promise<number> {
  const { stdout } = await execFileP(redisCli(), ['-p', String(redis.port), 'info', 'commandstats'])
  let n = 0
  for (const name of ['evalsha', 'eval']) {
    const m = new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(stdout)
    if (m !== null) n += Number(m[1])
  }
  return n
}

interface Tally { sent: number, admitted: number, refused: number, unavailable: number }

/** Workers on every sluice call `vendor` until `calls` are sent; counts answers by status. */
async function drive (vendor: string, calls: number): Promise<Tally> {
  const t: Tally = { sent: 0, admitted: 0, refused: 0, unavailable: 0 }
  const worker = async (s: TestSluice): Promise<void> => {
    while (t.sent < calls) {
      t.sent++
      const r = await call(`${s.url}/${vendor}/${vendor}`)
      if (r.status === 200) t.admitted++
      else if (r.status === 429) t.refused++
      else if (r.status === 503 && r.headers['x-sluice-error'] === 'redis_unavailable') t.unavailable++
      else throw new Error(`unexpected status ${r.status}`)
    }
  }
  await Promise.all(sluices.flatMap(s => Array.from({ length: WORKERS_PER_SLUICE }, () => worker(s))))
  return t
}

/** The one Redis hash of the vendor's bucket (created by a first call). */
async function bucketKey (vendor: string): Promise<string> {
  const keys = await client.keys(`sluice:{${vendor}}:b:wide:*`)
  expect(keys).toHaveLength(1)
  return keys[0] as string
}

/** Redis's own clock, in ms, as the scripts read it. */
async function redisNowMs (): Promise<number> {
  const [s, us] = await client.time()
  return Number(s) * 1000 + Number(us) / 1000
}

it('serve a burst with fewer Redis script calls than admitted calls', async () => {
  const calls = 1800
  const before = await scriptCalls()
  const { admitted, refused, unavailable } = await drive('burst', calls)
  const used = await scriptCalls() - before
  expect(refused).toBe(0)
  expect(admitted + unavailable).toBe(calls)
  expect(arrivals['/burst']).toBe(admitted)
  // How many fewer depends on each replica's call rate (a lease covers about
  // 40 ms of its calls), so only that leases served calls is machine-independent.
  // A call refused while Redis seemed down took no script call and is not admitted.
  expect(used, `${used} script calls for ${admitted} admitted calls (${unavailable} refused, Redis seemed down)`).toBeLessThan(admitted)
}, 120_000) // a fixed number of calls: a slow machine takes longer, and that is all

it('admit together exactly the tokens taken from the shared bucket, by its own clock', async () => {
  // A first call creates the bucket; then it is set to a known state.
  expect((await call(`${sluices[0]!.url}/pressed/pressed`)).status).toBe(200)
  const key = await bucketKey('pressed')
  const startTokens = 1000
  const startAt = await redisNowMs()
  await client.hset(key, 't', startTokens, 'at', startAt)
  const arrivedBefore = arrivals['/pressed']!

  const { admitted, refused, unavailable } = await drive('pressed', 2000)
  expect(admitted + refused + unavailable).toBe(2000)
  expect(arrivals['/pressed']! - arrivedBefore).toBe(admitted)
  // A replica that thought Redis down dropped its leases (their tokens are
  // lost, never handed out): then the replicas admitted less than the bucket
  // gave, and only the bound can be checked.
  const outage = sluices.some(s => s.logs.some(l => l.level === 'warn' && String(l.msg).startsWith('redis unavailable')))

  // What the bucket gave out: its tokens at the start plus its refill since,
  // by the `at` it last wrote, minus what it holds now. Leased tokens still
  // held by a replica are counted as given out until they go back (a lease
  // unused for 100 ms does), so the replicas never admitted more than that,
  // and once every lease is back they admitted exactly that.
  let given = 0
  const what = (): string => `admitted ${admitted} (refused ${refused}, unavailable ${unavailable}${outage ? ', after a Redis outage' : ''}), the bucket gave ${given}`
  await eventually(async () => {
    const [t, at] = await client.hmget(key, 't', 'at')
    given = startTokens + (Number(at) - startAt) * REFILL_PER_MS - Number(t)
    if (admitted > given + 1e-6) throw new Error(`more admitted than the bucket gave: ${what()}`)
    return outage || Math.abs(given - admitted) < 1e-6
  }, { timeout: 5000, what: 'every leased token back in the bucket' }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}: ${what()}`)
  })
}, 120_000)
