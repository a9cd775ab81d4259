import { describe, expect, it } from 'vitest'
import { applyDefaults, BUILT_IN_DEFAULTS, merge } from '../../src/policy/defaults.js'

const vendor = { vendor: 'acme', upstream: 'https://api.acme.test' }

describe('defaults merge', () => {
  it('fills every field from the built-in defaults', () => {
    const p = applyDefaults(vendor, undefined)
    expect(p.timeouts).toEqual({ connect: '5s', read: '30s', total: '60s' })
    expect(p.limits).toEqual({ body: '10mb', concurrency: 256 })
    expect(p.network).toEqual({ allowPrivate: false })
    expect(p.rateLimit).toEqual({ mode: 'enforce', failMode: 'open', buckets: [], headers: false, upstream: { retryAfter: true } })
    expect(p.retry).toEqual({
      attempts: 3,
      backoff: { initial: '1s', max: '10s', multiplier: 2, jitter: 'full' },
      on: ['connect-error', 'timeout', 429, 502, 503, 504],
      respectRetryAfter: true,
      idempotentOnly: true,
      budget: '20%',
      maxBufferedBody: '1mb',
    })
    expect(p.idempotency).toEqual({ header: 'Idempotency-Key', generate: [] })
    expect(p.circuitBreaker).toEqual({
      enabled: true, failureRate: '10%', minimumRequests: 20, window: '10s', openFor: '60s', failOn: ['5xx', 'timeout', 'connect-error'],
    })
    expect(p.inject).toEqual({ headers: {}, query: {} })
    expect(p.logging).toEqual({
      bodies: false,
      maxBodyBytes: '4kb',
      redact: { headers: [], fields: [], query: [], patterns: ['email', 'card', 'ssn', 'phone', 'iban', 'jwt', 'bearer', 'apikey'] },
    })
    expect(p.routes).toEqual({ hosts: [] })
  })

  it('lets defaults.yaml override built-ins and the vendor override both, field by field', () => {
    const p = applyDefaults(
      { ...vendor, timeouts: { read: '120s' }, retry: { backoff: { max: '30s' } } },
      { timeouts: { connect: '2s', read: '10s' }, retry: { attempts: 5, backoff: { initial: '200ms' } } }
    )
    expect(p.timeouts).toEqual({ connect: '2s', read: '120s', total: '60s' })
    expect(p.retry.attempts).toBe(5)
    expect(p.retry.backoff).toEqual({ initial: '200ms', max: '30s', multiplier: 2, jitter: 'full' })
  })

  it('replaces lists whole instead of joining them', () => {
    const p = applyDefaults(
      { ...vendor, retry: { on: [503] }, logging: { redact: { fields: ['ssn'] } } },
      { retry: { on: ['timeout', 429] }, logging: { redact: { fields: ['password'], query: ['token'] } } }
    )
    expect(p.retry.on).toEqual([503])
    expect(p.logging.redact.fields).toEqual(['ssn'])
    expect(p.logging.redact.query).toEqual(['token'])
  })

  it('merges maps of injected headers key by key', () => {
    const p = applyDefaults(
      { ...vendor, inject: { headers: { Authorization: 'Bearer ${env:A}' } } },
      { inject: { headers: { 'X-Team': '${env:TEAM}' } } }
    )
    expect(Object.keys(p.inject.headers)).toEqual(['X-Team', 'Authorization'])
  })

  it('never changes its inputs or the built-in defaults', () => {
    const defaults = { timeouts: { read: '10s' } }
    const own = { ...vendor, timeouts: { total: '20s' } }
    const p = applyDefaults(own, defaults)
    p.timeouts.connect = '1ms'
    p.retry.on.push(418)
    expect(defaults).toEqual({ timeouts: { read: '10s' } })
    expect(own.timeouts).toEqual({ total: '20s' })
    expect(BUILT_IN_DEFAULTS.timeouts.connect).toBe('5s')
    expect(BUILT_IN_DEFAULTS.retry.on).toHaveLength(6)
    expect(Object.isFrozen(BUILT_IN_DEFAULTS.retry.on)).toBe(true)
  })

  it('keeps a "__proto__" key as a plain field', () => {
    const out = merge({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
