// A call that ends after the rate-limit stage, before anything reached the
// vendor, gives its tokens back: a client that hangs up while its body is
// read, or an upstream name that resolves to a private address.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, metric, rateLimitedPolicy, startStoreSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

const TWO = `
buckets:
  - name: daily
    capacity: 2
    refill: 2/day
    onLimit: reject
`

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let s: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream()
    s = await startStoreSluice({
      'small.yaml': rateLimitedPolicy('small', up.url, TWO),
      // A host name (not an IP literal) that resolves to loopback.
      'private.yaml': rateLimitedPolicy('private', `http://localhost:${up.port}`, TWO),
    }, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await up?.close()
    await redis?.stop()
  })

  it('gives back the tokens of a call whose client hangs up while its body is read', async () => {
    const { port } = new URL(s.url)
    for (let i = 1; i <= 4; i++) {
      const sock = connect(Number(port), '127.0.0.1')
      sock.on('error', () => {})
      sock.write(`POST /small/upload-${i} HTTP/1.1\r\nHost: sluice\r\nContent-Length: 100\r\n\r\nonly part`)
      // Once the call has its tokens, the client goes away with the rest of its body.
      await eventually(async () => await metric(s, 'sluice_ratelimit_decisions_total', { vendor: 'small', decision: 'allowed' }) === i, { timeout: 10_000, what: 'the tokens' })
      sock.destroy()
      await eventually(() => requestLines(s).some(l => l.path === `/small/upload-${i}`), { timeout: 10_000, what: 'the call to end' })
    }
    expect(up.seen.filter(r => r.url.startsWith('/upload'))).toHaveLength(0)
    expect((await call(`${s.url}/small/x`)).status).toBe(200)
    expect((await call(`${s.url}/small/x`)).status).toBe(200)
    expect((await call(`${s.url}/small/x`)).headers['x-sluice-error']).toBe('rate_limited')
  })

  it('gives back the tokens of a call to a destination the policy does not allow', async () => {
    for (let i = 0; i < 4; i++) {
      expect((await call(`${s.url}/private/x`)).headers['x-sluice-error']).toBe('forbidden_destination')
    }
  })
})
