import { describe, expect, it } from 'vitest'
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/resilience/retry-after.js'

const NOW = Date.parse('2026-03-01T12:00:00Z')

describe('parseRetryAfter', () => {
  it('reads delay-seconds as milliseconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0)
    expect(parseRetryAfter('120', NOW)).toBe(120_000)
    expect(parseRetryAfter(' 5 ', NOW)).toBe(5000)
  })

  it('accepts fractional seconds, which some vendors send', () => {
    expect(parseRetryAfter('1.5', NOW)).toBe(1500)
  })

  it('reads an IMF-fixdate as the time left until it', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', NOW)).toBe(30_000)
  })

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Sunday, 01-Mar-26 12:01:00 GMT', NOW)).toBe(60_000)
    expect(parseRetryAfter('Sun Mar  1 12:00:10 2026', NOW)).toBe(10_000)
  })

  it('reads asctime as GMT whatever the local time zone', () => {
    const tz = process.env.TZ
    process.env.TZ = 'Asia/Kolkata'
    try {
      expect(parseRetryAfter('Sun Mar  1 12:00:10 2026', NOW)).toBe(10_000)
    } finally {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
    }
  })

  it('gives 0 for a date in the past', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', NOW)).toBe(0)
  })

  it('caps absurd values', () => {
    expect(parseRetryAfter('99999999999999999999', NOW)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).toBe(MAX_RETRY_AFTER_MS)
  })

  it.each([
    [undefined], [''], ['soon'], ['-5'], ['1e3'], ['0x10'], ['5s'], ['1 x'],
    ['2026-03-01T12:00:30Z'], ['Sun, 99 Mar 2026 12:00:30 GMT'], ['Sun, 01 Mar 2026 12:00:30 XYZ'],
  ])('ignores garbage: %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined()
  })
})
