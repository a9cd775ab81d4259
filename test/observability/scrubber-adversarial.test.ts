// Inputs built to make a careless pattern backtrack still come out scrubbed:
// nothing thrown, nothing raw. What they cost is measured by bench/scrubber.js
// (npm run bench), not asserted here: this machine's speed is no test.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

// The inputs bench/scrubber.js times: [name, [text, times][]], each text repeated.
const spec = JSON.parse(readFileSync(new URL('../../bench/lib/adversarial-inputs.json', import.meta.url), 'utf8')) as Array<{ name: string, parts: Array<[string, number]> }>
const ADVERSARIAL = spec.map(({ name, parts }) => [name, parts.map(([text, times]) => text.repeat(times)).join('')] as const)

const scrubber = compileScrubber({
  logging: loggingPolicy({ maxBodyBytes: 4096, redact: { fields: ['card.number'] } }),
  secrets: () => ['plain-injected-value'],
})
const scrub = (input: string, type: string | undefined): string => {
  const body = Buffer.from(input)
  return scrubber.body(body, type, undefined, body.length)
}

describe('adversarial input', () => {
  test.each(ADVERSARIAL)('%s: scrubbed as text, JSON and untyped', (_name, input) => {
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
