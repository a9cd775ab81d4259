// A call refused because its vendor's secret is missing is never sent, so it
// takes nothing from the vendor's buckets: the quota is whole when the
// secret appears.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, metric, rateLimitedPolicy, startStoreSluice, type CallResult } from './harness.js'
import { eventually } from '../helpers/wait.js'

const DAILY = `
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
  let keyFile: string

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream()
    keyFile = join(await mkdtemp(join(tmpdir(), 'sluice-key-')), 'key')
    s = await startStoreSluice({
      'keyless.yaml': rateLimitedPolicy('keyless', up.url, DAILY, { extra: `inject:\n  headers:\n    X-Key: "\${file:${keyFile}}"` }),
    }, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await up?.close()
    await redis?.stop()
  })

  it('takes no token for a call refused credential_unavailable', async () => {
    // Each would take one of the two tokens, then be answered 429.
    for (let i = 0; i < 5; i++) expect((await call(`${s.url}/keyless/x`)).headers['x-sluice-error']).toBe('credential_unavailable')
    expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor: 'keyless' })).toBe(0)

    await writeFile(keyFile, 'k-123')
    let first: CallResult | undefined
    await eventually(async () => {
      first = await call(`${s.url}/keyless/x`)
      return first.status !== 503
    }, { timeout: 10_000, what: 'the secret to be read' })
    expect(first?.status).toBe(200)
    // The whole quota was left: two calls, then 429.
    expect((await call(`${s.url}/keyless/x`)).status).toBe(200)
    expect((await call(`${s.url}/keyless/x`)).headers['x-sluice-error']).toBe('rate_limited')
    expect(up.seen).toHaveLength(2)
  })
})
