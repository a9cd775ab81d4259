// A call whose client goes away while it is queued for a token is never sent
// to the vendor: nobody would read the answer, and a client that retries
// would otherwise have its call made twice.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { request } from 'undici'
import { requestLines, startTestSluice, until, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, rateLimitedPolicy, sleep } from './harness.js'

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
    await until(() => requestLines(s).some(l => l.path === `/${vendor}/abandoned`))
    return requestLines(s).find(l => l.path === `/${vendor}/abandoned`)!
  })()
  expect(line.status).toBe(499)
  expect(line.clientGone).toBe(true)
  expect(line.attempts).toBe(0)
})
