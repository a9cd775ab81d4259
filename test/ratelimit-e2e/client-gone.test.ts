// A call whose client goes away while it is queued for a token is never sent
// to the vendor: nobody would read the answer, and a client that retries
// would otherwise have its call made twice. Its token goes back to the bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, rateLimitedPolicy, startStoreSluice } from './harness.js'
import { eventually, sleep } from '../helpers/wait.js'

// One token a second: the second call queues for about a second.
const BUCKET = `
buckets:
  - name: burst
    capacity: 1
    refill: 1/s
    onLimit: queue
    maxWait: 2s
`

let upstream: Upstream
let s: TestSluice

beforeAll(async () => {
  upstream = await startUpstream()
  s = await startTestSluice({
    'get.yaml': rateLimitedPolicy('gone-get', upstream.url, BUCKET),
    'post.yaml': rateLimitedPolicy('gone-post', upstream.url, BUCKET),
  })
})
afterAll(async () => {
  await s.stop()
  await upstream.close()
})

it.each([
  { method: 'GET', body: null },
  { method: 'POST', body: '{"charge":1}' },
])('does not forward a queued $method whose client closed the connection', async ({ method, body }) => {
  const vendor = `gone-${method.toLowerCase()}`
  expect((await call(`${s.url}/${vendor}/first`)).status).toBe(200)
  const abort = new AbortController()
  const queued = request(`${s.url}/${vendor}/abandoned`, { method, body, signal: abort.signal })
  await sleep(100)
  abort.abort()
  await expect(queued).rejects.toThrow()
  // Past the second the call was queued for.
  await sleep(1300)
  expect(upstream.seen.filter(r => r.url === '/abandoned').length).toBe(0)
  const line = await (async () => {
    await eventually(() => requestLines(s).some(l => l.path === `/${vendor}/abandoned`))
    return requestLines(s).find(l => l.path === `/${vendor}/abandoned`)!
  })()
  expect(line.status).toBe(499)
  expect(line.clientGone).toBe(true)
  expect(line.attempts).toBe(0)
})

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let t: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    t = await startStoreSluice({ 'back.yaml': rateLimitedPolicy('give-back', upstream.url, BUCKET) }, store, redis)
  })
  afterAll(async () => {
    await t?.stop()
    await redis?.stop()
  })

  it('gives an abandoned queued call\'s token back: the next call does not wait for it', async () => {
    expect((await call(`${t.url}/give-back/first`)).status).toBe(200)
    const abort = new AbortController()
    const queued = request(`${t.url}/give-back/abandoned`, { signal: abort.signal })
    await sleep(100)
    abort.abort()
    await expect(queued).rejects.toThrow()
    // ~1.4 s after the first call; the abandoned call's second is over. Had
    // its token stayed taken, the bucket would be at about 0.4 and this call
    // would queue ~600 ms; given back, the bucket is full again. (A slower
    // machine only shortens that wait: it cannot fail a working give-back.)
    await sleep(1300)
    expect((await call(`${t.url}/give-back/next`)).status).toBe(200)
    await eventually(() => requestLines(t).some(l => l.path === '/give-back/next'))
    const next = requestLines(t).find(l => l.path === '/give-back/next')!
    expect(next.waitMs).toBeLessThan(250)
    expect(upstream.seen.filter(r => r.url === '/abandoned').length).toBe(0)
  })
})
