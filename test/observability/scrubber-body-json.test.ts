import { gzipSync } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

const scrubber = compileScrubber({
  logging: loggingPolicy({ redact: { fields: ['card.number', 'pin'] } }),
})

function scrubJson (value: unknown, contentType = 'application/json'): unknown {
  const buf = Buffer.from(JSON.stringify(value))
  return JSON.parse(scrubber.body(buf, contentType, undefined, buf.length))
}

describe('JSON bodies', () => {
  test('masks built-in and configured fields at any depth, whatever their type', () => {
    expect(scrubJson({
      password: 'hunter2',
      user: { profile: { Password: 'x', accessToken: 42, pin: { a: 1 } } },
      client_secret: ['a', 'b'],
      amount: 100,
    })).toEqual({
      password: '[REDACTED]',
      user: { profile: { Password: '[REDACTED]', accessToken: '[REDACTED]', pin: '[REDACTED]' } },
      client_secret: '[REDACTED]',
      amount: 100,
    })
  })

  test('masks fields inside arrays', () => {
    expect(scrubJson([{ token: 't1' }, { items: [{ cvv: '123' }, { ssn: null }] }]))
      .toEqual([{ token: '[REDACTED]' }, { items: [{ cvv: '[REDACTED]' }, { ssn: '[REDACTED]' }] }])
  })

  test('matches a dotted path at any depth, array indices not counting, and only that path', () => {
    expect(scrubJson({
      card: { number: '4000 0000', brand: 'visa' },
      order: { payment: { card: [{ number: 'n1' }, { number: 'n2' }] } },
      invoice: { number: 'INV-1' },
    })).toEqual({
      card: { number: '[REDACTED]', brand: 'visa' },
      order: { payment: { card: [{ number: '[REDACTED]' }, { number: '[REDACTED]' }] } },
      invoice: { number: 'INV-1' },
    })
  })

  test('masks at a random depth', () => {
    for (let depth = 1; depth <= 30; depth++) {
      let value: unknown = { keep: 'k', secret: 's3cr3t' }
      for (let d = 0; d < depth; d++) value = d % 2 === 0 ? { level: value } : [value]
      expect(JSON.stringify(scrubJson(value))).not.toContain('s3cr3t')
    }
  })

  test('scrubs patterns in string values and keys, after decoding escapes', () => {
    const raw = '{"note":"mail jo\\u0040example.com","jo@example.com":1,"n":4111111111111111}'
    const out = scrubber.body(Buffer.from(raw), 'application/json', undefined, raw.length)
    expect(JSON.parse(out)).toEqual({ note: 'mail [REDACTED:email]', '[REDACTED:email]': 1, n: '[REDACTED:card]' })
  })

  test('decodes every escape, tolerates invalid and cut ones', () => {
    const raw = '["\\uD83D\\uDE00 jo\\u0040x.io", "\\q\\t\\uZZZZ jo\\u0040x.io", "jo\\u0040x.io \\u00'
    const out = scrubber.body(Buffer.from(raw), 'application/json', undefined, raw.length)
    expect(out).toBe('["😀 [REDACTED:email]", "q\\tuZZZZ [REDACTED:email]", "[REDACTED:email] "')
  })

  test('keeps a clean body byte for byte', () => {
    const raw = '{ "a" : [1, 2.50, -3e2, true, null],\n  "big": 12345678901234567890, "s": "x\\ny" }'
    expect(scrubber.body(Buffer.from(raw), 'application/json; charset=utf-8', undefined, raw.length)).toBe(raw)
  })

  test('handles +json types, mislabelled and unlabelled JSON', () => {
    for (const type of ['application/problem+json', 'text/plain', undefined, 'application/vnd.vendor.v2']) {
      const raw = '{"password":"p1"}'
      const out = scrubber.body(Buffer.from(raw), type, undefined, raw.length)
      expect(out, String(type)).not.toContain('p1')
    }
  })

  test('masks fields in invalid JSON too', () => {
    const raw = '{"password": "p1", oops "token":"t1", "note": card 4111 1111 1111 1111 }}]'
    const out = scrubber.body(Buffer.from(raw), 'application/json', undefined, raw.length)
    expect(out).toBe('{"password": "[REDACTED]", oops "token":"[REDACTED]", "note": card [REDACTED:card] }}]')
  })

  test('a compressed JSON body is not decoded', () => {
    const gz = gzipSync(Buffer.from('{"password":"p1"}'))
    expect(scrubber.body(gz, 'application/json', 'gzip', gz.length)).toMatch(/^\[binary \d+ bytes sha256:[0-9a-f]{16}\]$/)
  })
})
