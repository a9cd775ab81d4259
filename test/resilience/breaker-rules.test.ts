import { describe, expect, it } from 'vitest'
import { bodyRuleMatches, countsAsFailure } from '../../src/resilience/breaker.js'
import type { AttemptOutcome } from '../../src/resilience/outcome.js'
import { breakerPolicy } from './policies.js'

const status = (s: number): AttemptOutcome => ({ kind: 'status', status: s })

describe('countsAsFailure', () => {
  it('counts 5xx as a class', () => {
    const p = breakerPolicy({ failOn: ['5xx'] })
    expect([500, 502, 599].map(s => countsAsFailure(p, status(s)))).toEqual([true, true, true])
    expect([200, 404, 429, 499, 600].map(s => countsAsFailure(p, status(s)))).toEqual([false, false, false, false, false])
  })

  it('counts 4xx as a class, and single statuses', () => {
    expect(countsAsFailure(breakerPolicy({ failOn: ['4xx'] }), status(404))).toBe(true)
    expect(countsAsFailure(breakerPolicy({ failOn: ['4xx'] }), status(500))).toBe(false)
    expect(countsAsFailure(breakerPolicy({ failOn: [429] }), status(429))).toBe(true)
    expect(countsAsFailure(breakerPolicy({ failOn: [429] }), status(428))).toBe(false)
  })

  it('counts timeouts of either phase when listed', () => {
    expect(countsAsFailure(breakerPolicy({ failOn: ['timeout'] }), { kind: 'timeout', phase: 'connect' })).toBe(true)
    expect(countsAsFailure(breakerPolicy({ failOn: ['timeout'] }), { kind: 'timeout', phase: 'headers' })).toBe(true)
    expect(countsAsFailure(breakerPolicy({ failOn: ['5xx'] }), { kind: 'timeout', phase: 'headers' })).toBe(false)
  })

  it('counts connect errors, and resets as connect errors', () => {
    const p = breakerPolicy({ failOn: ['connect-error'] })
    expect(countsAsFailure(p, { kind: 'connect-error' })).toBe(true)
    expect(countsAsFailure(p, { kind: 'reset' })).toBe(true)
    const q = breakerPolicy({ failOn: ['5xx', 'timeout'] })
    expect(countsAsFailure(q, { kind: 'connect-error' })).toBe(false)
    expect(countsAsFailure(q, { kind: 'reset' })).toBe(false)
  })
})

describe('bodyRuleMatches', () => {
  const rule = (path: string, equals: string | number | boolean | null) => ({ path: path.split('.'), equals })

  it('matches a top-level value', () => {
    expect(bodyRuleMatches(rule('success', false), JSON.parse('{"success":false}'))).toBe(true)
    expect(bodyRuleMatches(rule('success', false), JSON.parse('{"success":true}'))).toBe(false)
  })

  it('follows nested dotted paths, array indexes included', () => {
    const body = JSON.parse('{"result":{"status":{"code":"ERR"}},"errors":[{"code":7}]}')
    expect(bodyRuleMatches(rule('result.status.code', 'ERR'), body)).toBe(true)
    expect(bodyRuleMatches(rule('errors.0.code', 7), body)).toBe(true)
    expect(bodyRuleMatches(rule('result.status.code', 'OK'), body)).toBe(false)
  })

  it('compares strictly', () => {
    expect(bodyRuleMatches(rule('ok', false), { ok: 0 })).toBe(false)
    expect(bodyRuleMatches(rule('n', 1), { n: '1' })).toBe(false)
    expect(bodyRuleMatches(rule('e', null), { e: null })).toBe(true)
  })

  it('does not match a missing path, even against null', () => {
    expect(bodyRuleMatches(rule('a.b', null), { a: {} })).toBe(false)
    expect(bodyRuleMatches(rule('a.b.c', false), { a: { b: 'text' } })).toBe(false)
    expect(bodyRuleMatches(rule('a.b', false), { a: null })).toBe(false)
  })

  it('does not walk into inherited properties', () => {
    expect(bodyRuleMatches(rule('constructor.name', 'Object'), {})).toBe(false)
    expect(bodyRuleMatches(rule('length', 0), [])).toBe(true)
    expect(bodyRuleMatches(rule('__proto__.__proto__', null), {})).toBe(false)
    expect(bodyRuleMatches(rule('__proto__.x', 1), JSON.parse('{"__proto__":{"x":1}}'))).toBe(true)
  })

  it('does not match a body that is not JSON', () => {
    expect(bodyRuleMatches(rule('success', false), undefined)).toBe(false)
    expect(bodyRuleMatches(rule('success', false), '<html>success=false</html>')).toBe(false)
    expect(bodyRuleMatches(rule('length', 26), '<html>success=false</html>')).toBe(false)
  })
})
