// Inputs built to make a careless pattern backtrack still come out scrubbed:
// nothing thrown, nothing raw. What they cost is measured by bench/scrubber.js
// (npm run bench), not asserted here: this machine's speed is no test.
import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

const scrubber = compileScrubber({
  logging: loggingPolicy({ maxBodyBytes: 4096, redact: { fields: ['card.number'] } }),
  secrets: () => ['plain-injected-value'],
})
const scrub = (input: string, type: string | undefined): string => {
  const body = Buffer.from(input)
  return scrubber.body(body, type, undefined, body.length)
}

describe('adversarial input', () => {
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
    ['unterminated strings', '{"a":"\\'.repeat(800)],
  ])('%s: scrubbed as text, JSON and untyped', (_name, input) => {
    for (const type of ['text/plain', 'application/json', undefined]) {
      // the secret first, so the cut at maxBodyBytes keeps it in view
      const out = scrub('plain-injected-value ' + input, type)
      expect(out, String(type)).not.toContain('plain-injected-value')
      expect(out, String(type)).toContain('[REDACTED:secret]')
    }
  })

  test('deeply nested JSON still has its PII redacted', () => {
    const out = scrub('['.repeat(2000) + '"jo@example.com"' + ']'.repeat(2000), 'application/json')
    expect(out).not.toContain('jo@example.com')
  })

  test('a 4 KB JSON list loses every email and card number', () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ id: `ch_${i}`, email: `user${i}@example.com`, description: 'card 4242 4242 4242 4242 charged' }))
    const out = scrub(JSON.stringify({ object: 'list', data: items }), 'application/json')
    expect(out).not.toMatch(/@example\.com|4242 4242/)
    expect(out).toContain('[REDACTED:email]')
  })
})
