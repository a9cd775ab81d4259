// A call whose client goes away while it is queued for a token is never sent
// to the vendor: nobody would read the answer, and a client that retries
// would otherwise have its call made twice.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { request } from 'undici'
import { requestLines, startTestSluice, until, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, rateLimitedPolicy, sleep } from './harness.js'

let upstream: Upstream
let s: TestSluice

beforeAll(async () => {
  upstream = await startUpstream()
  s = await startTestSluice({
    'v.yaml': rateLimitedPolicy('gone', upstream.url, `
buckets:
  - name: burst
    capacity: 1
    refill: 2/s
    onLimit: queue
    maxWait: 2s
`),
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
  upstream.seen.length = 0
  const linesBefore = requestLines(s).length
  expect((await call(`${s.url}/gone/first`)).status).toBe(200)
  const abort = new AbortController()
  const queued = request(`${s.url}/gone/abandoned`, { method, body, signal: abort.signal })
  await sleep(100)
  abort.abort()
  await expect(queued).rejects.toThrow()
  // Past the ~500 ms the call was queued for.
  await sleep(700)
  await sleep(500) // the bucket is full again for the next case
  expect(upstream.seen.map(r => r.url)).toEqual(['/first'])
  await until(() => requestLines(s).length === linesBefore + 2)
  const line = requestLines(s).findLast(l => l.path === '/gone/abandoned')!
  expect(line.status).toBe(499)
  expect(line.clientGone).toBe(true)
  expect(line.attempts).toBe(0)
})
