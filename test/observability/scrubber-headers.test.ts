import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

describe('headers', () => {
  const scrubber = compileScrubber({
    logging: loggingPolicy({ redact: { headers: ['X-Partner-Token'] } }),
    injectedHeaders: ['x-vendor-key'],
  })

  test('masks the built-in, injected and configured headers whole', () => {
    const out = scrubber.headers({
      authorization: 'Basic dXNlcjpwYXNz',
      'proxy-authorization': 'Basic abc',
      cookie: 'session=abc',
      'set-cookie': ['a=1; HttpOnly', 'b=2'],
      'x-api-key': 'k',
      'x-vendor-key': 'injected-value',
      'x-partner-token': 'partner',
    })
    expect(out).toEqual({
      authorization: '[REDACTED]',
      'proxy-authorization': '[REDACTED]',
      cookie: '[REDACTED]',
      'set-cookie': ['[REDACTED]', '[REDACTED]'],
      'x-api-key': '[REDACTED]',
      'x-vendor-key': '[REDACTED]',
      'x-partner-token': '[REDACTED]',
    })
  })

  test('matches names whatever their case', () => {
    expect(scrubber.headers({ Authorization: 'Bearer x', 'X-VENDOR-KEY': 'v' })).toEqual({ Authorization: '[REDACTED]', 'X-VENDOR-KEY': '[REDACTED]' })
  })

  test('scrubs patterns in the other headers and keeps the rest as they are', () => {
    const out = scrubber.headers({
      'x-customer-email': 'jo@example.com',
      'x-debug': ['card 4111 1111 1111 1111', 'plain'],
      'content-type': 'application/json',
      'x-request-id': '550e8400-e29b-41d4-a716-446655440000',
    })
    expect(out).toEqual({
      'x-customer-email': '[REDACTED:email]',
      'x-debug': ['card [REDACTED:card]', 'plain'],
      'content-type': 'application/json',
      'x-request-id': '550e8400-e29b-41d4-a716-446655440000',
    })
  })

  test('masks redacted query keys in URL-valued headers', () => {
    const out = scrubber.headers({
      location: 'https://api.vendor.test/v1/files/1?token=abc123&page=2',
      link: '<https://api.vendor.test/v1/x?cursor=2&api_key=k1>; rel="next"',
    })
    expect(out).toEqual({
      location: 'https://api.vendor.test/v1/files/1?token=[REDACTED]&page=2',
      link: '<https://api.vendor.test/v1/x?cursor=2&api_key=[REDACTED]>; rel="next"',
    })
  })

  test('drops undefined values and leaves the input untouched', () => {
    const input = { a: undefined, b: 'x@y.io', c: ['1'] }
    const copy = structuredClone(input)
    expect(scrubber.headers(input)).toEqual({ b: '[REDACTED:email]', c: ['1'] })
    expect(input).toEqual(copy)
  })

  test('a header named __proto__ is an ordinary entry', () => {
    const input = JSON.parse('{"__proto__":"a@b.co"}') as Record<string, string>
    const out = scrubber.headers(input)
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('[REDACTED:email]')
  })
})
