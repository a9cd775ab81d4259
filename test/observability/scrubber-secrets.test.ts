import { describe, expect, test } from 'vitest'
import { compileScrubber, type Scrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

/** Free text as the log shows it: a text/plain body. */
const text = (scrubber: Scrubber, s: string): string => scrubber.body(Buffer.from(s), 'text/plain', undefined, Buffer.byteLength(s))

describe('injected secret values', () => {
  let current: string[] = ['plain-old-value', 'short']
  const scrubber = compileScrubber({ logging: loggingPolicy(), secrets: () => current })

  test('are replaced anywhere, even inside other text', () => {
    expect(text(scrubber, 'xxplain-old-valueyy and shorter')).toBe('xx[REDACTED:secret]yy and [REDACTED:secret]er')
  })

  test('in paths, query values and bodies', () => {
    expect(scrubber.path('/a/plain-old-value/b?q=zzshortzz')).toBe('/a/[REDACTED:secret]/b?q=zz[REDACTED:secret]zz')
    expect(scrubber.path('/a?q=plain%2Dold%2Dvalue')).toBe('/a?q=[REDACTED:secret]')
    const json = Buffer.from('{"echo":"plain-old\\u002dvalue"}')
    expect(scrubber.body(json, 'application/json', undefined, json.length)).toBe('{"echo":"[REDACTED:secret]"}')
    expect(text(scrubber, '...plain-old-value...')).toBe('...[REDACTED:secret]...')
  })

  test('a secret spanning form fields is found', () => {
    current = ['tok&code=77']
    const body = Buffer.from('a=tok&code=77&b=2')
    expect(scrubber.body(body, 'application/x-www-form-urlencoded', undefined, body.length)).toBe('a=[REDACTED:secret]&b=2')
  })

  test('a secret that contains another is replaced whole', () => {
    current = ['abc', 'xxabcxx']
    expect(text(scrubber, '1 xxabcxx 2 abc')).toBe('1 [REDACTED:secret] 2 [REDACTED:secret]')
  })

  test('follow rotation: the provider is asked on each use', () => {
    current = ['old-secret-1']
    expect(text(scrubber, 'old-secret-1 new-secret-2')).toBe('[REDACTED:secret] new-secret-2')
    current = ['new-secret-2']
    expect(text(scrubber, 'old-secret-1 new-secret-2')).toBe('old-secret-1 [REDACTED:secret]')
  })

  test('a secret spanning a path separator is found', () => {
    current = ['ab/cd+ef==']
    expect(scrubber.path('/v1/ab/cd+ef==/x')).toBe('/v1/[REDACTED:secret]/x')
  })

  test('empty values are ignored', () => {
    current = ['', 'kept-secret']
    expect(text(scrubber, 'a kept-secret b')).toBe('a [REDACTED:secret] b')
  })

  test('a provider that fails keeps the last values it gave', () => {
    let fail = false
    const flaky = compileScrubber({
      logging: loggingPolicy(),
      secrets: () => {
        if (fail) throw new Error('store down')
        return ['known-secret']
      },
    })
    expect(text(flaky, 'known-secret')).toBe('[REDACTED:secret]')
    fail = true
    expect(text(flaky, 'known-secret')).toBe('[REDACTED:secret]')
    // scrubbed with the last values, not replaced by the catch-all marker
    expect(flaky.body(Buffer.from('known-secret x'), 'text/plain', undefined, 14)).toBe('[REDACTED:secret] x')
  })
})

describe('the secret provider', () => {
  test('is asked once per scrub call, not once per string scanned', () => {
    let calls = 0
    const scrubber = compileScrubber({ logging: loggingPolicy(), secrets: () => { calls++; return ['s3cr3t-value'] } })
    const body = Buffer.from(JSON.stringify({ a: ['x', 'y', 'z'], b: { c: 's3cr3t-value', d: 'e' } }))
    expect(scrubber.body(body, 'application/json', undefined, body.length)).not.toContain('s3cr3t-value')
    expect(calls).toBe(1)
    scrubber.path('/a?b=1&c=2&d=3')
    expect(calls).toBe(2)
  })
})
