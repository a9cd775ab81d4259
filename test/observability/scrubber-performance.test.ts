// The scrubber runs on every logged call: a 4 KB body must cost well under a
// millisecond, and no input may make a pattern backtrack its way to seconds.
// Bounds are loose (a shared 2-core machine); the typical figures are far lower.
import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

const scrubber = compileScrubber({
  logging: loggingPolicy({ maxBodyBytes: 4096, redact: { fields: ['card.number'] } }),
  injectedHeaders: [],
  secrets: () => ['sk_live_injectedvalue123', 'another-injected-secret'],
})

function medianMs (run: () => void, rounds = 200): number {
  for (let i = 0; i < 50; i++) run() // warm up the JIT and the regex compiler
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint()
    run()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] as number
}

function jsonBody4k (): Buffer {
  const items = []
  for (let i = 0; items.length < 200 && JSON.stringify(items).length < 3900; i++) {
    items.push({
      id: `ch_${i}abcDEF${i * 7}`,
      amount: 1999 + i,
      currency: 'usd',
      created: 1700000000 + i,
      email: i % 5 === 0 ? `user${i}@example.com` : null,
      description: i % 7 === 0 ? 'card 4242 4242 4242 4242 charged' : 'Monthly subscription',
    })
  }
  return Buffer.from(JSON.stringify({ object: 'list', data: items }).slice(0, 4096))
}

describe('cost', () => {
  test('a 4 KB JSON body scrubs in well under a millisecond', () => {
    const body = jsonBody4k()
    const ms = medianMs(() => scrubber.body(body, 'application/json', undefined, body.length))
    expect(ms).toBeLessThan(0.5)
  })

  test('a 4 KB text body scrubs in well under a millisecond', () => {
    const line = 'INFO 2024-01-15T10:30:00Z user=jo@example.com paid 19.99 EUR order 12345 ok\n'
    const body = Buffer.from(line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096))
    const ms = medianMs(() => scrubber.body(body, 'text/plain', undefined, body.length))
    expect(ms).toBeLessThan(0.5)
  })

  test('headers and a path cost microseconds', () => {
    const headers = { 'content-type': 'application/json', 'user-agent': 'Stripe/v1 NodeBindings/14.0.0', 'x-request-id': 'req_123', authorization: 'Bearer x' }
    expect(medianMs(() => scrubber.headers(headers), 1000)).toBeLessThan(0.05)
    expect(medianMs(() => scrubber.path('/v1/charges?limit=10&customer=cus_123&token=abc'), 1000)).toBeLessThan(0.05)
  })

  test.each([
    ['digits and spaces', '1 '.repeat(2048)],
    ['digits and dashes', '12-'.repeat(1365)],
    ['a long local part without @', 'a.'.repeat(2048) + '@'],
    ['many @', 'a@'.repeat(2048)],
    ['domain labels without a TLD', 'x@' + 'a-a.'.repeat(1000) + '1'],
    ['plus and digits', '+1 '.repeat(1365)],
    ['IBAN-like groups', 'DE89 ' + 'AAAA '.repeat(800)],
    ['alphanumeric run', 'a1'.repeat(2048)],
    ['bearer words', 'bearer '.repeat(585)],
    ['eyJ fragments', 'eyJa.'.repeat(819)],
    ['nested JSON', '['.repeat(2000) + '"a@b.co"' + ']'.repeat(2000)],
    ['unterminated strings', '{"a":"\\'.repeat(800)],
  ])('adversarial input: %s', (_name, input) => {
    const body = Buffer.from(input)
    for (const type of ['text/plain', 'application/json', undefined]) {
      expect(medianMs(() => scrubber.body(body, type, undefined, body.length), 20), String(type)).toBeLessThan(5)
    }
  })
})
