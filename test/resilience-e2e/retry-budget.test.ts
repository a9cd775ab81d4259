// The retry budget (SPEC section 4, retry.budget): when a vendor fails every
// call, retries add at most `budget` of the first attempts, plus a small floor
// that lets a quiet vendor retry at all (RetryBudget: 3 retries per 1 s bucket
// of its 10 s window). Without it, 3 attempts would triple the load on a
// vendor exactly when it can least take it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { metricValue } from '../helpers/metrics.js'

/** RetryBudget's default minPerBucket and bucket width */
const FLOOR_PER_BUCKET = 3
const BUCKET_MS = 1000
const CALLS = 50

let down: Upstream
let sluice: TestSluice

beforeAll(async () => {
  down = await startUpstream((_req, res) => { res.statusCode = 503; res.end() })
  const policy = (budget: string): string => `upstream: ${down.url}\nretry:\n  attempts: 3\n  backoff: { initial: 1ms, max: 2ms }\n  budget: ${budget}\ncircuitBreaker:\n  enabled: false\n`
  sluice = await startTestSluice({
    'tight.yaml': `vendor: tight\n${policy('10%')}`,
    'loose.yaml': `vendor: loose\n${policy('1000%')}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await down.close()
})

async function storm (vendor: string): Promise<{ attempts: number, buckets: number }> {
  down.seen.length = 0
  const startBucket = Math.floor(Date.now() / BUCKET_MS)
  for (let i = 0; i < CALLS; i++) {
    const res = await request(`${sluice.url}/${vendor}/x`)
    expect(res.statusCode).toBe(503)
    await res.body.dump()
  }
  const buckets = Math.floor(Date.now() / BUCKET_MS) - startBucket + 1
  return { attempts: down.seen.length, buckets }
}

describe('the retry budget', () => {
  it('with budget 10% and a vendor always 503, 50 calls bring at most 10% retries plus the floor', async () => {
    const { attempts, buckets } = await storm('tight')
    const retries = attempts - CALLS
    expect(retries).toBeGreaterThan(0)
    // +1: a retry is allowed while retries < 10% of the first attempts, so one may round up.
    expect(retries).toBeLessThanOrEqual(Math.ceil(CALLS * 0.1) + 1 + FLOOR_PER_BUCKET * buckets)
    expect(await metricValue(sluice.adminUrl, 'sluice_retries_total', { vendor: 'tight', reason: '503' })).toBe(retries)
  })

  it('a budget that never binds lets every call retry: 3 attempts each', async () => {
    const { attempts } = await storm('loose')
    expect(attempts).toBe(CALLS * 3)
  })
})
