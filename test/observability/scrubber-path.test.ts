import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

describe('path and query', () => {
  const scrubber = compileScrubber({
    logging: loggingPolicy({ redact: { query: ['session', 'auth.code'] } }),
    injectedQuery: ['vendor_key'],
  })

  test('masks built-in, configured and injected query keys', () => {
    expect(scrubber.path('/v1/x?token=abc&q=1&session=s1&vendor_key=v&apiKey=k&X-Amz-Signature=sig'))
      .toBe('/v1/x?token=[REDACTED]&q=1&session=[REDACTED]&vendor_key=[REDACTED]&apiKey=[REDACTED]&X-Amz-Signature=[REDACTED]')
  })

  test('masks bracketed and dotted keys by path', () => {
    expect(scrubber.path('/x?auth[code]=1&auth.code=2&code=3&user[password]=p'))
      .toBe('/x?auth[code]=[REDACTED]&auth.code=[REDACTED]&code=3&user[password]=[REDACTED]')
  })

  test('scrubs patterns in values and path segments', () => {
    expect(scrubber.path('/v1/customers/jo@example.com/cards?q=a@b.com&n=4111111111111111'))
      .toBe('/v1/customers/[REDACTED:email]/cards?q=[REDACTED:email]&n=[REDACTED:card]')
  })

  test('decodes percent-encoding before checking', () => {
    expect(scrubber.path('/v1/search?email=a%40b.com')).toBe('/v1/search?email=[REDACTED:email]')
    expect(scrubber.path('/v1/customers/jo%40example.com')).toBe('/v1/customers/[REDACTED:email]')
    expect(scrubber.path('/v1/search?email=a%2540b.com')).toBe('/v1/search?email=[REDACTED:email]')
    expect(scrubber.path('/v1/search?%74oken=abc')).toBe('/v1/search?%74oken=[REDACTED]')
  })

  test('re-encodes the plain text around a finding', () => {
    expect(scrubber.path('/s?q=hello%20a%40b.com%26x')).toBe('/s?q=hello%20[REDACTED:email]%26x')
  })

  test('reads + as a space in the query', () => {
    expect(scrubber.path('/s?card=4111+1111+1111+1111&phone=%2B44+20+7946+0958')).toBe('/s?card=[REDACTED:card]&phone=[REDACTED:phone]')
  })

  test('and as a plus where that is what finds something', () => {
    expect(scrubber.path('/s?phone=+14155552671')).toBe('/s?phone=[REDACTED:phone]')
    expect(scrubber.path('/s?e=jo+tag@example.com')).not.toContain('jo')
  })

  test('leaves clean paths exactly as written', () => {
    const clean = '/v1/charges/ch_123?limit=10&created%5Bgte%5D=1700000000&expand[]=data.customer&flag'
    expect(scrubber.path(clean)).toBe(clean)
  })

  test('tolerates broken percent-encoding', () => {
    expect(scrubber.path('/x/%E0%A4%A?q=%zz&r=%')).toBe('/x/%E0%A4%A?q=%zz&r=%')
  })
})
