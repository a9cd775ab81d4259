// Fuzz of the path guard (internals), seeded and bounded in time: whatever
// path it lets through, no reading of it a vendor's server might make (decoded
// up to three times, `;parameters` stripped from each segment, `\` taken as
// `/`) has a dot-segment that climbs above the base path.
// Replay a failure with FUZZ_SEED=<seed printed by fast-check>.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSafePath } from '../../src/proxy/path.js'
import { climbsAboveBase, FUZZ_SEED, PATH_PIECES } from './fuzz-paths.js'

describe('isSafePath, fuzzed', () => {
  it('the oracle sees the climbs it must see', () => {
    for (const p of ['/..', '/a/../..', '/..;x', '/%2e%2e', '/%252e%252e%253b', '/a%2f..%2f..', '/a\\..\\..', '/.;/..;']) {
      expect(climbsAboveBase(p), p).toBe(true)
    }
    for (const p of ['/a/..', '/a/b/../..', '/...', '/x;..', '/;../a', '/a/.;/b']) {
      expect(climbsAboveBase(p), p).toBe(false)
    }
  })

  it('never lets through a path that climbs above the base', () => {
    const path = fc.array(fc.constantFrom(...PATH_PIECES), { minLength: 1, maxLength: 14 }).map(parts => '/' + parts.join(''))
    fc.assert(fc.property(path, p => !isSafePath(p) || !climbsAboveBase(p)), {
      seed: FUZZ_SEED,
      numRuns: 200_000,
      interruptAfterTimeLimit: 2000,
    })
  })
})
