// Each pattern rule skips strings shorter than its minLength without running
// its regex (src/observability/patterns.ts). The bound must never exceed a real
// match: the shortest string each rule can find is found, and one character
// less (where the rule has nothing else to find) is not scanned at all.
import { describe, expect, it } from 'vitest'
import { compileTextPatterns, type PatternName } from '../../src/observability/patterns.js'
import { SCRUB_PATTERNS as PATTERN_NAMES } from '../../src/policy/schema.js'

// The shortest string each rule recognises, by construction of its regex.
const SHORTEST: ReadonlyArray<[PatternName, string]> = [
  ['bearer', 'Bearer abcdef'], //         13: "bearer", a space, 6 token characters
  ['jwt', 'eyJa.b.'], //                   7: three dot-separated parts, the last empty
  ['apikey', 'xoxb-1234567890'], //       15: the shortest prefixed key (Slack)
  ['apikey', 'a1'.repeat(16)], //          32: the generic letters-and-digits key
  ['email', 'a@b.cd'], //                  6
  ['iban', 'NO9386011117947'], //         15: Norway's, the shortest IBAN there is (the regex's own floor is 14)
  ['card', '4222222222222'], //           13 digits, Luhn-valid
  ['ssn', '123-45-6789'], //              11
  ['phone', '+12345678'], //                9: "+", 8 digits
]

describe('pattern minimum lengths', () => {
  it.each(SHORTEST)('%s: the shortest match (%j) is still found, alone and among every rule', (name, s) => {
    expect(compileTextPatterns([name])(s)).toContain(`[REDACTED:${name}]`)
    expect(compileTextPatterns(PATTERN_NAMES)(s)).toContain('[REDACTED:')
    // ... and inside a path segment or a sentence
    expect(compileTextPatterns(PATTERN_NAMES)(`x ${s} y`)).toContain('[REDACTED:')
  })

  it('every rule has its shortest match listed here', () => {
    expect(new Set(SHORTEST.map(([name]) => name))).toEqual(new Set(PATTERN_NAMES))
  })

  it('leaves short path segments as they are', () => {
    const scrub = compileTextPatterns(PATTERN_NAMES)
    for (const s of ['', 'v1', 'items', '42', 'charges', '2024-01-02']) expect(scrub(s)).toBe(s)
  })
})
