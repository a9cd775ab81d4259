// bucketKeyValues: which bucket a call draws from, with header values hashed
// so a tenant's API key never becomes a Redis key name or a log field.
import { describe, expect, it } from 'vitest'
import { bucketKeyValues } from '../../src/ratelimit/index.js'
import { fixedKeyValues } from '../../src/ratelimit/keys.js'
import { policy } from './policy.js'

describe('bucketKeyValues', () => {
  const p = policy({
    buckets: [
      { name: 'all', capacity: 1, perSecond: 1, key: { kind: 'vendor' } },
      { name: 'by-ip', capacity: 1, perSecond: 1, key: { kind: 'ip' } },
      { name: 'by-tenant', capacity: 1, perSecond: 1, key: { kind: 'header', name: 'X-Api-Key' } },
    ],
  })

  it('gives one value per bucket, in bucket order', () => {
    const asked: string[] = []
    const values = bucketKeyValues(p, name => { asked.push(name); return 'sk_live_abcdef123456' }, '10.1.2.3')
    expect(values).toHaveLength(3)
    expect(values[0]).toBe('all')
    expect(values[1]).toBe('10.1.2.3')
    expect(asked).toEqual(['x-api-key'])
  })

  it('hashes header values: short hex, stable, distinct, never the value itself', () => {
    const a = bucketKeyValues(p, () => 'sk_live_abcdef123456', '10.1.2.3')[2]
    const again = bucketKeyValues(p, () => 'sk_live_abcdef123456', '10.1.2.3')[2]
    const b = bucketKeyValues(p, () => 'sk_live_abcdef123457', '10.1.2.3')[2]
    expect(a).toMatch(/^[0-9a-f]{16}$/)
    expect(again).toBe(a)
    expect(b).not.toBe(a)
    expect(a).not.toContain('sk_live')
  })

  it('puts calls without the header, or without an address, in one shared bucket', () => {
    expect(bucketKeyValues(p, () => undefined, '')).toEqual(['all', '-', '-'])
    expect(bucketKeyValues(p, () => '', '10.0.0.1')[2]).toBe('-')
  })

  it('is empty for a vendor without buckets', () => {
    expect(bucketKeyValues(policy({ buckets: [] }), () => 'x', '10.0.0.1')).toEqual([])
  })
})

describe('fixedKeyValues', () => {
  it('is the key values of every call when every bucket is keyed by vendor', () => {
    const p = policy({
      buckets: [
        { name: 'all', capacity: 1, perSecond: 1, key: { kind: 'vendor' } },
        { name: 'burst', capacity: 1, perSecond: 1, key: { kind: 'vendor' } },
      ],
    })
    expect(fixedKeyValues(p)).toEqual(bucketKeyValues(p, () => 'ignored', '10.0.0.1'))
  })

  it('is undefined when some bucket is keyed by the call (a header, the client address)', () => {
    for (const key of [{ kind: 'ip' as const }, { kind: 'header' as const, name: 'X-Api-Key' }]) {
      const p = policy({
        buckets: [
          { name: 'all', capacity: 1, perSecond: 1, key: { kind: 'vendor' } },
          { name: 'keyed', capacity: 1, perSecond: 1, key },
        ],
      })
      expect(fixedKeyValues(p)).toBeUndefined()
    }
  })
})
