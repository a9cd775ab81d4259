// judgeCall: the breaker's one verdict on a finished call, from the last
// attempt's outcome and the start of a 2xx JSON body (decoded as sent).
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { judgeCall } from '../../src/resilience/breaker.js'
import type { AttemptOutcome } from '../../src/resilience/outcome.js'
import { breakerPolicy } from './policies.js'

const status = (s: number): AttemptOutcome => ({ kind: 'status', status: s })
const withRule = breakerPolicy({ failOn: ['5xx'], bodyRule: { path: 'error.type', equals: 'overloaded' } })
const failing = Buffer.from('{"error":{"type":"overloaded"}}')

describe('judgeCall', () => {
  it('does not count a call no attempt got an outcome for', () => {
    expect(judgeCall(withRule, undefined, undefined, undefined)).toBeUndefined()
  })

  it('judges the outcome against failOn', () => {
    expect(judgeCall(withRule, status(503), undefined, undefined)).toBe('failure')
    expect(judgeCall(withRule, status(200), undefined, undefined)).toBe('success')
    expect(judgeCall(withRule, { kind: 'timeout', phase: 'headers' }, undefined, undefined)).toBe('success')
  })

  it('a body matching the rule is a failure whatever the status said, compressed or not', () => {
    expect(judgeCall(withRule, status(200), failing, undefined)).toBe('body_rule')
    expect(judgeCall(withRule, status(200), gzipSync(failing), 'gzip')).toBe('body_rule')
    expect(judgeCall(withRule, status(200), Buffer.from('{"error":{"type":"fine"}}'), undefined)).toBe('success')
  })

  it('a body that does not decode or parse, or a vendor without a rule, matches nothing', () => {
    expect(judgeCall(withRule, status(200), Buffer.from('{"error":'), undefined)).toBe('success')
    expect(judgeCall(withRule, status(200), failing, 'gzip')).toBe('success')
    expect(judgeCall(breakerPolicy({ failOn: ['5xx'] }), status(200), failing, undefined)).toBe('success')
  })
})
