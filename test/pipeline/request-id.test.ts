// sluice's own request ids: version 4 UUIDs, as crypto.randomUUID() makes,
// distinct across a refill of the random pool they are cut from.
import { describe, expect, it } from 'vitest'
import { newRequestId } from '../../src/pipeline/request-id.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('newRequestId', () => {
  it('makes distinct version 4 UUIDs, past several refills of its random pool', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const id = newRequestId()
      expect(id).toMatch(UUID_V4)
      seen.add(id)
    }
    expect(seen.size).toBe(2000)
  })

  it('spreads its hex digits evenly (no fixed or missing digit outside the version and variant)', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 4000; i++) {
      const id = newRequestId().replace(/-/g, '')
      // skip the version digit (12) and the variant digit (16)
      for (let j = 0; j < id.length; j++) if (j !== 12 && j !== 16) counts.set(id[j] as string, (counts.get(id[j] as string) ?? 0) + 1)
    }
    expect(counts.size).toBe(16)
    const expected = (4000 * 30) / 16
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.1)
  })
})
