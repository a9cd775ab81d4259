// One describe per pattern: what it takes, and the near misses it must leave.
import { describe, expect, test } from 'vitest'
import { compileTextPatterns, type PatternName } from '../../src/observability/patterns.js'
import { SCRUB_PATTERNS as PATTERN_NAMES } from '../../src/policy/schema.js'
import { ibanFor, jwtFor, luhnComplete } from './factories.js'

const scrub = compileTextPatterns(PATTERN_NAMES)
const luhnCheck = (digits: string): boolean => luhnComplete(digits.slice(0, -1)) === digits

function expectRedacted (name: PatternName, value: string): void {
  const out = scrub(`before ${value} after`)
  expect(out, value).toBe(`before [REDACTED:${name}] after`)
}

function expectKept (value: string): void {
  expect(scrub(`before ${value} after`), value).toBe(`before ${value} after`)
}

describe('email', () => {
  test.each(['a@b.co', 'john.doe+tag@example.co.uk', 'x_y-z%1@sub-domain.example.museum', 'UPPER@EXAMPLE.COM'])('takes %s', v => expectRedacted('email', v))
  test('takes one inside punctuation', () => {
    expect(scrub('<mailto:jo@ex.org>, (ann@ex.org)')).toBe('<mailto:[REDACTED:email]>, ([REDACTED:email])')
  })
  test.each(['user@localhost', 'pkg@1.2.3', '@scope/pkg', 'a@b.c', 'foo@'])('leaves %s', expectKept)
})

describe('card', () => {
  const visa = luhnComplete('411111111111111')
  test.each([
    visa,
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '4111-1111 1111-1111',
    '5555555555554444',
    '378282246310005', // 15-digit Amex
    '6011 1111 1111 1117',
    luhnComplete('222300312200322'), // Mastercard 2-series
    luhnComplete('411111111111111111'), // 19 digits
  ])('takes %s', v => expectRedacted('card', v))
  test.each([
    '4111 1111 1111 1112', // fails Luhn: an order number
    '4111111111111112',
    luhnComplete('170000000000'), // a millisecond timestamp that passes Luhn
    luhnComplete('170000000000000'), // microseconds
    '41111111111111111111111', // 23 digits
    '4111111111.11', // an amount
    '411111111111.1111', // a decimal
    '4111 1111 1111', // 12 digits
    '41 11 11 11 11 11 11 11', // not how cards are written
  ])('leaves %s', expectKept)
  test('finds the card among other digit groups', () => {
    expect(scrub('order 12 4111 1111 1111 1111 7 units')).toBe('order 12 [REDACTED:card] 7 units')
    expect(scrub('tel 415-555-2672 4111 1111 1111 1111')).toBe('tel [REDACTED:phone] [REDACTED:card]')
  })
  test('masks all of two overlapping windows that both pass', () => {
    // "2671 4111 1111 1111" passes Luhn too: masking only it would leave the card's last group
    const card = '4111 1111 1111 1111'
    const before = Array.from({ length: 10 }, (_, d) => `267${d}`).find(g => luhnCheck(`${g}411111111111`))
    expect(before).toBeDefined()
    expect(scrub(`${before} ${card}`)).toBe('[REDACTED:card]')
  })
  test('leaves lists of short numbers', () => {
    expect(scrub('sizes 100 200 300 400 500 600 700')).toBe('sizes 100 200 300 400 500 600 700')
  })
  test('takes a card sent as a JSON number', () => {
    expect(scrub('{"n":4111111111111111}')).toBe('{"n":[REDACTED:card]}')
  })
})

describe('ssn', () => {
  test.each(['123-45-6789', '001-01-0001', '899-99-9999'])('takes %s', v => expectRedacted('ssn', v))
  test.each(['000-12-3456', '666-12-3456', '900-12-3456', '999-99-9999', '123-00-6789', '123-45-0000', '123456789', '2024-01-15', '1123-45-6789', '123-45-67890'])('leaves %s', expectKept)
})

describe('phone', () => {
  test.each([
    '+1 415 555 2671', '+14155552671', '+44 20 7946 0958', '+33 1 23 45 67 89', '+49 (0)30 1234567', '+1 (415) 555-2671',
    '(415) 555-2671', '415-555-2671', '415.555.2671', '415 555 2671', '1-800-555-0199',
  ])('takes %s', v => expectRedacted('phone', v))
  test('stops before a group that would pass 15 digits', () => {
    expect(scrub('tel +44 20 7946 0958 1234 5678')).toBe('tel [REDACTED:phone] 1234 5678')
  })
  test('finds a NANP number after an international one', () => {
    expect(scrub('+10 000 00000000  200-200-0000')).toBe('[REDACTED:phone]  [REDACTED:phone]')
    expect(scrub('+1234567890123456 415-555-2671')).toBe('+1234567890123456 [REDACTED:phone]')
  })
  test.each([
    '1700000000', // unix seconds
    '4155552671', // unseparated digits are ids, not phones
    '+12.50', '+12345678.90', // signed amounts
    '$1,234,567.89', '1234.56',
    '2024-01-15T10:30:00+01:00', // a zone offset
    '2024-01-15 10:30:00',
    '192.168.100.200', '10.0.0.1',
    '+1234567', // too short for E.164 with a country code
    '123-456-7890', // area code cannot start with 1
    '415-155-2671', // nor the exchange
    'v1.2.3',
  ])('leaves %s', expectKept)
})

describe('iban', () => {
  const de = ibanFor('DE', '370400440532013000')
  const gb = ibanFor('GB', 'WEST12345698765432')
  const spaced = (iban: string): string => iban.replace(/(.{4})(?!$)/g, '$1 ')
  test.each([de, gb, spaced(de), spaced(gb), ibanFor('BE', '539007547034')])('takes %s', v => expectRedacted('iban', v))
  test('stops a grouped IBAN before a following word', () => {
    expect(scrub(`pay ${spaced(ibanFor('BE', '539007547034'))} 2024 EUR`)).toBe('pay [REDACTED:iban] 2024 EUR')
  })
  test('finds a grouped IBAN after a word that looks like its start', () => {
    expect(scrub(`ref AB12 ${spaced(de)} ok`)).toBe('ref AB12 [REDACTED:iban] ok')
  })
  test.each([
    de.slice(0, 2) + (de.slice(2, 4) === '89' ? '88' : '89') + de.slice(4), // wrong check digits
    'DE89370400440532013001',
    'XX0012345', // too short
    `${de}abc`, // part of a longer identifier
    de.toLowerCase(),
  ])('leaves %s', expectKept)
})

describe('jwt', () => {
  const jwt = jwtFor({ sub: '1234567890', email: 'x@example.com' })
  test('takes a signed JWT', () => expectRedacted('jwt', jwt))
  test('takes an unsigned one', () => expectRedacted('jwt', jwt.slice(0, jwt.lastIndexOf('.') + 1)))
  test.each(['eyJ.notajwt', 'eyJhbGciOiJIUzI1NiJ9', 'theyJump.over.it'])('leaves %s', expectKept)
})

describe('bearer', () => {
  test.each(['Bearer abcdef123456', 'bearer mF_9.B5f-4.1JqM', 'BEARER abc/def+ghi==', 'Bearer  sometoken'])('takes %s', v => expectRedacted('bearer', v))
  test.each(['bearer of', 'Bearer abc', 'bearers'])('leaves %s', expectKept)
})

describe('apikey', () => {
  test.each([
    'sk_live_51HqLyjWDarjtT1zdp7dc', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc', 'rk_live_abcdefgh12', 'pk_live_ABCDEFGH12',
    'AKIAIOSFODNN7EXAMPLE', 'ASIAIOSFODNN7EXAMPLE',
    'ghp_' + 'a1'.repeat(18), 'gho_' + 'B2'.repeat(18), 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv',
    'xoxb-123456789012-abcdefghij', 'xoxp-1-2-3-abcdefabcdef',
    'sk-proj-abcdefghij1234567890XY', 'sk-' + 'A1b2'.repeat(12),
    'AIzaSyA1234567890abcdefghijklmnopqrstu',
    '4bf92f3577b34da6a3ce929d0e0e4736', // 32 hex: indistinguishable from a 32-hex API key
    'Zx8' + 'qW3rT5yU7iO9pA1sD2fG4hJ6kL'.repeat(2),
  ])('takes %s', v => expectRedacted('apikey', v))
  test.each([
    '550e8400-e29b-41d4-a716-446655440000', // a UUID
    'order-2024-01-15-monthly-report-final-v2', // a slug
    'abcdefghijklmnopqrstuvwxyzabcdefghij', // letters only
    '12345678901234567890123456789012345', // digits only
    'sk-learn-tutorial-for-beginners-guide', // prose
    'task_live_x', 'AKIA1234', 'ch_3MqLiJLkdIwHu7ix0snN0B15', // short ids
  ])('leaves %s', expectKept)
})

describe('policy choice', () => {
  test('applies only the enabled patterns', () => {
    const onlyEmail = compileTextPatterns(['email'])
    expect(onlyEmail('a@b.co 4111111111111111 123-45-6789')).toBe('[REDACTED:email] 4111111111111111 123-45-6789')
  })
  test('every pattern a policy can name has a rule', () => {
    const samples: Record<PatternName, string> = {
      email: 'a@b.co',
      card: '4111111111111111',
      ssn: '123-45-6789',
      phone: '+14155552671',
      iban: ibanFor('DE', '370400440532013000'),
      jwt: jwtFor({ sub: 'x' }),
      bearer: 'Bearer abcdef123',
      apikey: 'sk_live_abcdefgh12',
    }
    for (const name of PATTERN_NAMES) expect(compileTextPatterns([name])(samples[name]), name).toBe(`[REDACTED:${name}]`)
  })
  test('an empty list applies none', () => {
    expect(compileTextPatterns([])('a@b.co')).toBe('a@b.co')
  })
})
