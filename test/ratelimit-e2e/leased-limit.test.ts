// Leased tokens through real sluices (SPEC section 8): three sluices sharing
// one Redis with a high-rate bucket (capacity 2000, refill 1000/s) serve most
// calls from tokens leased in batches, far fewer Redis script calls than
// calls, and together still never admit more than capacity + refill × elapsed.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, rateLimitedPolicy, startRedisSluice } from './harness.js'

const execFileP = promisify(execFile)

const CAPACITY = 2000
const REFILL_PER_S = 1000
const WORKERS_PER_SLUICE = 16

let redis: RedisHandle
let upstream: Upstream
/** performance.now() of each call reaching the upstream, per vendor (the path the call asked for) */
const arrivals: Record<string, number[]> = { '/burst': [], '/pressed': [] }
const sluices: TestSluice[] = []

const bucketPolicy = (vendor: string): string => rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: wide
    capacity: ${CAPACITY}
    refill: ${REFILL_PER_S}/s
    onLimit: reject
`)

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream((req, res) => {
    arrivals[req.url ?? '']?.push(performance.now())
    res.end('ok')
  })
  for (let i = 0; i < 3; i++) {
    sluices.push(await startRedisSluice({ 'burst.yaml': bucketPolicy('burst'), 'pressed.yaml': bucketPolicy('pressed') }, redis, { logLevel: 'warn' }))
  }
})
afterAll(async () => {
  await Promise.all(sluices.map(s => s.stop()))
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

interface Tally { sent: number, admitted: number, refused: number }

/** Workers on every sluice call `vendor` until `done` says stop; counts answers by status. */
async function drive (vendor: string, done: (t: Tally) => boolean): Promise<Tally> {
  const t: Tally = { sent: 0, admitted: 0, refused: 0 }
  const worker = async (s: TestSluice): Promise<void> => {
    while (!done(t)) {
      t.sent++
      const r = await call(`${s.url}/${vendor}/${vendor}`)
      if (r.status === 200) t.admitted++
      else if (r.status === 429) t.refused++
      else throw new Error(`unexpected status ${r.status}`)
    }
  }
  await Promise.all(sluices.flatMap(s => Array.from({ length: WORKERS_PER_SLUICE }, () => worker(s))))
  return t
}

it('serve a burst within capacity with far fewer Redis script calls than calls', async () => {
  const before = await scriptCalls()
  const calls = 1800
  const { admitted, refused } = await drive('burst', t => t.sent >= calls)
  const perCall = (await scriptCalls() - before) / calls
  expect(admitted).toBe(calls)
  expect(refused).toBe(0)
  expect(perCall).toBeLessThan(0.5)
})

it('admit together no more than capacity + refill × elapsed', async () => {
  const start = performance.now()
  // Until the limit has refused a good number of calls (a slow machine takes longer to get there).
  const { admitted, refused } = await drive('pressed', t => t.refused >= 200 || performance.now() - start >= 15_000)
  // Admissions happen between the first call sent and the last one arriving: a window no shorter than the bucket's.
  const elapsedS = (arrivals['/pressed']!.at(-1)! - start) / 1000
  const bound = CAPACITY + REFILL_PER_S * elapsedS
  expect(refused).toBeGreaterThan(0) // the limit was really pressed
  expect(admitted, `admitted ${admitted}, bound ${bound.toFixed(1)}`).toBeLessThanOrEqual(bound)
  expect(arrivals['/pressed']).toHaveLength(admitted)
})
