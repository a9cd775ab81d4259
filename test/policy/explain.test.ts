import { describe, expect, it } from 'vitest'
import { compilePolicy } from '../../src/policy/compile.js'
import { applyDefaults } from '../../src/policy/defaults.js'
import { explainPolicy } from '../../src/policy/explain.js'
import type { PolicyFileInput } from '../../src/policy/schema.js'

// Values shaped like real credentials, written straight into a policy.
const LITERALS = ['sk_live_51HxYz0123456789abcdef', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'hunter2-client-secret', 'plain-client-id-42']

function explain (own: Partial<PolicyFileInput>): Record<string, any> {
  return explainPolicy(compilePolicy(applyDefaults({ vendor: 'acme', upstream: 'https://api.acme.test/v1', ...own }, undefined), 'acme.yaml')) as Record<string, any>
}

describe('explain masks credentials', () => {
  const out = explain({
    inject: {
      headers: {
        Authorization: `Bearer ${LITERALS[0] as string}`,
        'X-Github-Token': LITERALS[1] as string,
        'X-Api-Key': '${env:ACME_KEY}',
        'X-Signed': 'Basic ${env:USER}:${file:/run/secrets/pass}',
        'X-Mixed': `${LITERALS[2] as string}\${env:SUFFIX}`,
      },
      query: { api_key: '${file:/run/secrets/acme/key}', token: LITERALS[1] as string },
      oauth2: { tokenUrl: 'https://auth.acme.test/token', clientId: LITERALS[3] as string, clientSecret: LITERALS[2] as string },
    },
  })
  const text = JSON.stringify(out)

  it('never shows a literal credential anywhere', () => {
    for (const secret of LITERALS) expect(text).not.toContain(secret)
    expect(text).not.toContain('hunter2')
    expect(text).not.toContain('sk_live')
  })

  it('keeps references and a leading auth scheme, masks every other literal', () => {
    expect(out.inject.headers).toEqual({
      authorization: 'Bearer ***',
      'x-github-token': '***',
      'x-api-key': '${env:ACME_KEY}',
      'x-signed': 'Basic ${env:USER}***${file:/run/secrets/pass}',
      'x-mixed': '***${env:SUFFIX}',
    })
    expect(out.inject.query).toEqual({ api_key: '${file:/run/secrets/acme/key}', token: '***' })
    expect(out.inject.oauth2).toMatchObject({ clientId: '***', clientSecret: '***', tokenUrl: 'https://auth.acme.test/token' })
  })

  it('shows a reference-only header as written', () => {
    expect(explain({ inject: { headers: { Authorization: 'Bearer ${env:STRIPE_API_KEY}' } } }).inject.headers)
      .toEqual({ authorization: 'Bearer ${env:STRIPE_API_KEY}' })
  })
})

describe('explain speaks the YAML vocabulary', () => {
  it('gives units back as written in a policy', () => {
    const out = explain({
      routes: { allow: [{ methods: ['GET'], paths: ['/v1/**', '/health'] }] },
      timeouts: { connect: '250ms', read: '2m', total: '5m' },
      rateLimit: { buckets: [{ name: 'burst', capacity: 100, refill: '25/s', key: 'header:X-Tenant' }] },
      circuitBreaker: { bodyRule: { path: 'data.ok', equals: false } },
    })
    expect(out.routes).toEqual({ prefix: '/acme', hosts: [], allow: [{ methods: ['GET'], paths: ['/v1/**', '/health'] }] })
    expect(out.timeouts).toEqual({ connect: '250ms', read: '2m', total: '5m' })
    expect(out.limits).toEqual({ body: '10mb', concurrency: 256 })
    expect(out.rateLimit.buckets).toEqual([{ name: 'burst', capacity: 100, refill: '25/s', key: 'header:x-tenant', onLimit: 'queue', maxWait: '2s' }])
    expect(out.rateLimit.upstream).toEqual({ retryAfter: true })
    expect(out.retry).toMatchObject({ budget: '20%', maxBufferedBody: '1mb', backoff: { initial: '1s', max: '10s', multiplier: 2, jitter: 'full' } })
    expect(out.circuitBreaker).toMatchObject({ failureRate: '10%', window: '10s', openFor: '1m', bodyRule: { path: 'data.ok', equals: false } })
    expect(out.logging).toMatchObject({ maxBodyBytes: '4kb' })
  })

  it('is plain JSON: it survives a round trip unchanged', () => {
    const out = explain({ routes: { allow: [{ methods: ['GET'] }] }, idempotency: { generate: ['POST'] } })
    expect(JSON.parse(JSON.stringify(out))).toEqual(out)
    expect(out.idempotency).toEqual({ header: 'idempotency-key', generate: ['POST'] })
  })
})

describe('explain shows rate-limit costs, headers and sync as written', () => {
  it('round-trips cost sources, headers and upstream.sync', () => {
    const out = explain({
      rateLimit: {
        headers: true,
        buckets: [
          { name: 'requests', capacity: 10, refill: '10/min' },
          { name: 'tokens', capacity: 1000, refill: '1000/min', cost: { request: 'json:max_tokens', default: 100, response: 'header:X-Cost' } },
          { name: 'points', capacity: 50, refill: '50/h', cost: { request: 2 } },
        ],
        upstream: { remainingHeader: 'x-remaining', sync: 'requests' },
      },
    })
    expect(out.rateLimit.headers).toBe(true)
    expect(out.rateLimit.buckets[0].cost).toBeUndefined()
    expect(out.rateLimit.buckets[1].cost).toEqual({ request: 'json:max_tokens', default: 100, response: 'header:x-cost' })
    expect(out.rateLimit.buckets[2].cost).toEqual({ request: 2, default: 1 })
    expect(out.rateLimit.upstream).toMatchObject({ remainingHeader: 'x-remaining', sync: 'requests' })
  })
})
