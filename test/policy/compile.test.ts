import { describe, expect, it } from 'vitest'
import { compilePolicy } from '../../src/policy/compile.js'
import { applyDefaults } from '../../src/policy/defaults.js'
import type { PolicyFileInput } from '../../src/policy/schema.js'

function compile (own: Partial<PolicyFileInput> = {}, upstream = 'https://api.acme.test'): ReturnType<typeof compilePolicy> {
  return compilePolicy(applyDefaults({ vendor: 'acme', upstream, ...own }, undefined), 'policies/acme.yaml')
}

describe('compile: the upstream URL', () => {
  it.each([
    ['https://api.stripe.com', 'https://api.stripe.com', 'api.stripe.com', 'api.stripe.com', '', false],
    ['https://api.openai.com/v1', 'https://api.openai.com', 'api.openai.com', 'api.openai.com', '/v1', false],
    ['https://slack.com/api/', 'https://slack.com', 'slack.com', 'slack.com', '/api', false],
    ['https://example.test/api/v2//', 'https://example.test', 'example.test', 'example.test', '/api/v2', false],
    ['https://API.Example.test:8443/x', 'https://api.example.test:8443', 'api.example.test', 'api.example.test:8443', '/x', false],
    ['https://example.test:443', 'https://example.test', 'example.test', 'example.test', '', false],
    ['http://example.test:80/', 'http://example.test', 'example.test', 'example.test', '', false],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000', '127.0.0.1', '127.0.0.1:9000', '', true],
    ['http://[::1]:9000/base', 'http://[::1]:9000', '::1', '[::1]:9000', '/base', true],
    ['https://[2001:db8::1]', 'https://[2001:db8::1]', '2001:db8::1', '[2001:db8::1]', '', true],
  ])('%s', (upstream, origin, hostname, hostHeader, basePath, ipLiteral) => {
    const v = compile({}, upstream)
    expect({ origin: v.origin, hostname: v.hostname, hostHeader: v.hostHeader, basePath: v.basePath, ipLiteral: v.ipLiteral })
      .toEqual({ origin, hostname, hostHeader, basePath, ipLiteral })
    expect(v.upstream).toBe(upstream)
  })
})

describe('compile: units and names', () => {
  it('turns every unit into numbers', () => {
    const v = compile({
      timeouts: { connect: '250ms', read: '2m', total: '1h' },
      limits: { body: '512kb' },
      rateLimit: { buckets: [{ name: 'burst', capacity: 100, refill: '25/s' }] },
      retry: { budget: '12.5%', maxBufferedBody: '2mb', backoff: { initial: '100ms' } },
      circuitBreaker: { failureRate: '50%', window: '1m', openFor: '1d' },
      logging: { maxBodyBytes: '1kb' },
    })
    expect(v.timeouts).toEqual({ connectMs: 250, readMs: 120_000, totalMs: 3_600_000 })
    expect(v.limits).toEqual({ bodyBytes: 512 * 1024, concurrency: 256 })
    expect(v.rateLimit.buckets).toEqual([{
      name: 'burst', capacity: 100, refillPerMs: 0.025, refill: '25/s', key: { kind: 'vendor' }, onLimit: 'queue', maxWaitMs: 2000,
    }])
    expect(v.retry.budget).toBe(0.125)
    expect(v.retry.maxBufferedBodyBytes).toBe(2 * 1024 ** 2)
    expect(v.retry.backoff).toEqual({ initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'full' })
    expect(v.circuitBreaker).toMatchObject({ failureRate: 0.5, windowMs: 60_000, openForMs: 86_400_000, bodyRule: undefined })
    expect(v.logging.maxBodyBytes).toBe(1024)
  })

  it('lower-cases header names everywhere a header is looked up', () => {
    const v = compile({
      routes: { hosts: ['API.Acme.test'] },
      rateLimit: {
        buckets: [{ name: 'per-user', capacity: 1, refill: '1/s', key: 'header:X-User-Id' }],
        upstream: { remainingHeader: 'X-RateLimit-Remaining', resetHeader: 'X-RateLimit-Reset' },
      },
      idempotency: { header: 'Idempotency-Key', generate: ['POST', 'PATCH'] },
      inject: { headers: { Authorization: 'Bearer ${env:ACME_KEY}' }, strip: ['X-Api-Key', 'Cookie'] },
      logging: { redact: { headers: ['X-Partner-Token'] } },
    })
    expect(v.routes.hosts).toEqual(['api.acme.test'])
    expect(v.rateLimit.buckets[0]?.key).toEqual({ kind: 'header', name: 'x-user-id' })
    expect(v.rateLimit.upstream).toEqual({ retryAfter: true, remainingHeader: 'x-ratelimit-remaining', resetHeader: 'x-ratelimit-reset' })
    expect(v.idempotency.header).toBe('idempotency-key')
    expect([...v.idempotency.generate]).toEqual(['POST', 'PATCH'])
    expect(v.inject.headers).toEqual({ authorization: 'Bearer ${env:ACME_KEY}' })
    expect(v.inject.strip).toEqual(['x-api-key', 'cookie'])
    expect(v.logging.redact.headers).toEqual(['x-partner-token'])
  })

  it('strips the injected headers by default, the oauth2 header included', () => {
    expect(compile({ inject: { headers: { 'X-Api-Key': '${env:K}' } } }).inject.strip).toEqual(['x-api-key'])
    const v = compile({
      inject: {
        headers: { 'X-Team': '${env:T}' },
        oauth2: { tokenUrl: 'https://auth.acme.test/token', clientId: '${env:ID}', clientSecret: '${file:/s/secret}' },
      },
    })
    expect(v.inject.strip).toEqual(['x-team', 'authorization'])
    expect(v.inject.oauth2).toEqual({
      tokenUrl: 'https://auth.acme.test/token',
      clientId: '${env:ID}',
      clientSecret: '${file:/s/secret}',
      scopes: [],
      audience: undefined,
      header: 'authorization',
    })
    expect(compile().inject).toEqual({ headers: {}, query: {}, strip: [], oauth2: undefined, templates: { headers: [], query: [], oauth2: undefined } })
  })

  it('defaults the prefix to /<vendor> and splits the body rule path', () => {
    expect(compile().routes.prefix).toBe('/acme')
    expect(compile({ routes: { prefix: '/partners/acme' } }).routes.prefix).toBe('/partners/acme')
    expect(compile({ circuitBreaker: { bodyRule: { path: 'data.ok', equals: false } } }).circuitBreaker.bodyRule)
      .toEqual({ path: ['data', 'ok'], equals: false })
  })
})

describe('compile: routes.allow', () => {
  it('is undefined when the policy allows everything', () => {
    expect(compile().routes.allow).toBeUndefined()
  })

  it('compiles methods to Sets and paths to RegExps once', () => {
    const v = compile({ routes: { allow: [{ methods: ['GET', 'HEAD'], paths: ['/v1/**'] }, { methods: ['POST'] }, { paths: ['/health'] }] } })
    const [reads, posts, health] = v.routes.allow ?? []
    expect(reads?.methods).toEqual(new Set(['GET', 'HEAD']))
    expect(reads?.paths?.map(re => re.test('/v1/charges'))).toEqual([true])
    expect(reads?.paths?.[0]).toBeInstanceOf(RegExp)
    expect(posts?.paths).toBeUndefined()
    expect(health?.methods).toBeUndefined()
    expect(health?.paths?.[0]?.test('/health')).toBe(true)
  })
})

describe('compile: the result is read-only', () => {
  it('freezes every object and list, and Sets refuse changes', () => {
    const v = compile({ routes: { allow: [{ methods: ['GET'] }] }, idempotency: { generate: ['POST'] } })
    expect(Object.isFrozen(v)).toBe(true)
    expect(Object.isFrozen(v.timeouts)).toBe(true)
    expect(Object.isFrozen(v.retry.on)).toBe(true)
    expect(Object.isFrozen(v.inject.headers)).toBe(true)
    expect(() => { (v.retry.on as unknown[]).push(418) }).toThrow(TypeError)
    expect(() => { (v.timeouts as { totalMs: number }).totalMs = 1 }).toThrow(TypeError)
    expect(() => v.idempotency.generate.add('GET')).toThrow(/read-only/)
    expect(() => v.routes.allow?.[0]?.methods?.clear()).toThrow(/read-only/)
    expect(v.idempotency.generate.has('POST')).toBe(true)
  })
})
