// A queued call that will never be sent leaves the queue at once: a client
// that hangs up while its call waits for a token is answered (logged 499)
// when it leaves, not when its turn would have come; its turn goes to the
// call queued behind it, and its token to the calls that arrive after. A call
// refused after it took its token lets the call queued behind it go at once.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, metric, rateLimitedPolicy, startStoreSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

const LONG_DEADLINE = 'timeouts:\n  total: 5m'

/** One token a minute: a queued call's turn is far beyond any test, unless a turn comes free. */
const SLOW = `
buckets:
  - name: burst
    capacity: 1
    refill: 1/min
    onLimit: queue
    maxWait: 90s
`
/** One token every 2 s, a queue of up to 10 s. */
const STEADY = `
buckets:
  - name: burst
    capacity: 1
    refill: 30/min
    onLimit: queue
    maxWait: 10s
`

/** A token server that holds every request until release(), then answers 500. */
async function heldTokenServer (): Promise<{ url: string, held: () => number, release: () => void, close: () => Promise<void> }> {
  const waiting: ServerResponse[] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => waiting.push(res))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    held: () => waiting.length,
    release: () => { for (const res of waiting.splice(0)) { res.statusCode = 500; res.end('{"error":"server_error"}') } },
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

const queued = (s: TestSluice, vendor: string): Promise<number> =>
  metric(s, 'sluice_ratelimit_decisions_total', { vendor, decision: 'queued' })
const lineOf = (s: TestSluice, path: string): Record<string, unknown> | undefined =>
  requestLines(s).find(l => l.path === path)

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let tokens: Awaited<ReturnType<typeof heldTokenServer>>
  let s: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream()
    tokens = await heldTokenServer()
    process.env.E2E_QUEUE_CLIENT_ID = 'queue-client'
    process.env.E2E_QUEUE_CLIENT_SECRET = 'queue-secret-fig-2231'
    const oauth = `${LONG_DEADLINE}\ninject:\n  oauth2:\n    tokenUrl: ${tokens.url}\n    clientId: "\${env:E2E_QUEUE_CLIENT_ID}"\n    clientSecret: "\${env:E2E_QUEUE_CLIENT_SECRET}"`
    s = await startStoreSluice({
      'slow.yaml': rateLimitedPolicy('slow', up.url, SLOW, { extra: LONG_DEADLINE }),
      'steady.yaml': rateLimitedPolicy('steady', up.url, STEADY),
      'tokenless.yaml': rateLimitedPolicy('tokenless', up.url, SLOW, { extra: oauth }),
    }, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await tokens?.close()
    await up?.close()
    await redis?.stop()
  })

  it('answers a call whose client hung up while queued at once, and gives its token to the next call', async () => {
    expect((await call(`${s.url}/slow/first`)).status).toBe(200)
    const gone = new AbortController()
    const abandoned = request(`${s.url}/slow/abandoned`, { signal: gone.signal })
    await eventually(async () => await queued(s, 'slow') === 1, { timeout: 10_000, what: 'the call to queue' })
    gone.abort()
    await expect(abandoned).rejects.toThrow()
    // Its turn is a minute away: the line is written when the client leaves.
    await eventually(() => lineOf(s, '/slow/abandoned') !== undefined, { timeout: 10_000, what: 'the abandoned call\'s line' })
    expect(lineOf(s, '/slow/abandoned')).toMatchObject({ status: 499, attempts: 0 })

    // Its token is back: the next call queues for the turn it left. Had the
    // token stayed taken, this call's wait would be past maxWait: 429 at once.
    const next = new AbortController()
    const nextCall = request(`${s.url}/slow/next`, { signal: next.signal })
    await eventually(async () => await queued(s, 'slow') === 2, { timeout: 10_000, what: 'the next call to queue' })
    expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor: 'slow', decision: 'rejected' })).toBe(0)
    next.abort()
    await expect(nextCall).rejects.toThrow()
    expect(up.seen.filter(r => r.url === '/abandoned' || r.url === '/next')).toHaveLength(0)
  })

  it('moves the call queued behind a call that leaves up to the turn it left', async () => {
    expect((await call(`${s.url}/steady/first`)).status).toBe(200)
    const gone = new AbortController()
    const abandoned = request(`${s.url}/steady/abandoned`, { signal: gone.signal })
    await eventually(async () => await queued(s, 'steady') === 1, { timeout: 10_000, what: 'the first call to queue' })
    const behind = call(`${s.url}/steady/behind`)
    await eventually(async () => await queued(s, 'steady') === 2, { timeout: 10_000, what: 'the second call to queue' })
    gone.abort()
    await expect(abandoned).rejects.toThrow()
    expect((await behind).status).toBe(200)
    await eventually(() => lineOf(s, '/steady/behind') !== undefined, { timeout: 10_000, what: 'the line of the call behind' })
    // Its turn was 4 s after the first call; the one it took, at most 2 s.
    expect(lineOf(s, '/steady/behind')?.waitMs).toBeLessThanOrEqual(2000)
  })

  it('lets the call queued behind a call refused after its token go at once', async () => {
    const sent = up.seen.length
    // The first call takes the token, then waits for an OAuth2 token that will not come.
    const first = call(`${s.url}/tokenless/first`)
    await eventually(() => tokens.held() === 1, { timeout: 10_000, what: 'the token request' })
    const behind = call(`${s.url}/tokenless/behind`)
    await eventually(async () => await queued(s, 'tokenless') === 1, { timeout: 10_000, what: 'the second call to queue' })
    tokens.release()
    expect((await first).headers['x-sluice-error']).toBe('credential_unavailable')
    // Its turn was a minute away; the token given back lets it go now (and
    // be refused in turn: the token server is in its backoff).
    let settled = false
    const answered = behind.then(r => { settled = true; return r })
    await eventually(() => settled, { timeout: 10_000, what: 'the call behind to be answered' })
    expect((await answered).headers['x-sluice-error']).toBe('credential_unavailable')
    expect(lineOf(s, '/tokenless/behind')?.waitMs).toBeLessThan(60_000)
    expect(up.seen).toHaveLength(sent)
  })
})
