// Random JSON, form and text bodies (and paths) with PII and injected secrets
// hidden at random depths and positions: no hidden value may survive anywhere
// in the output, in any encoding, and the input buffer is never changed.
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { ibanFor, jwtFor, loggingPolicy, luhnComplete } from './factories.js'

const DIGITS = '0123456789'
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const UPPER = LOWER.toUpperCase()
const ALNUM = LOWER + UPPER + DIGITS

const chars = (alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map(a => a.join(''))

const grouped = (value: string, separator: string): string => value.replace(/(.{4})(?!$)/g, `$1${separator}`)

const email = fc.tuple(chars(LOWER + DIGITS + '._+-', 1, 16), chars(LOWER, 1, 10), fc.constantFrom('com', 'org', 'io', 'co.uk'))
  .map(([local, domain, tld]) => `${local}@${domain}.${tld}`)

const card = fc.tuple(fc.constantFrom('4', '51', '55', '37', '6011', '35', '2221'), fc.integer({ min: 13, max: 19 }))
  .chain(([prefix, length]) => chars(DIGITS, length - 1 - prefix.length, length - 1 - prefix.length).map(rest => luhnComplete(prefix + rest)))
  .chain(number => fc.constantFrom(number, grouped(number, ' '), grouped(number, '-')))

const ssn = fc.tuple(fc.integer({ min: 1, max: 899 }).filter(a => a !== 666), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }))
  .map(([a, g, s]) => `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`)

const iban = fc.tuple(fc.constantFrom('DE', 'GB', 'FR', 'NL', 'BE', 'ES', 'CH'), chars(UPPER + DIGITS, 11, 30))
  .map(([country, bban]) => ibanFor(country, bban))
  .chain(value => fc.constantFrom(value, grouped(value, ' ')))

const jwt = fc.record({ sub: fc.string(), n: fc.integer(), admin: fc.boolean() }).map(jwtFor)

const phone = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 99 }), chars(DIGITS, 7, 12)).map(([cc, rest]) => `+${cc} ${rest.slice(0, 3)} ${rest.slice(3)}`),
  fc.tuple(fc.integer({ min: 200, max: 999 }), fc.integer({ min: 200, max: 999 }), chars(DIGITS, 4, 4), fc.constantFrom('-', '.', ' '))
    .chain(([area, exchange, line, sep]) => fc.constantFrom(`${area}${sep}${exchange}${sep}${line}`, `(${area}) ${exchange}-${line}`))
)

const bearer = chars(ALNUM + '-._~+/', 8, 40).map(token => `Bearer ${token}`)

const stripeKey = chars(ALNUM, 16, 40).map(rest => `sk_live_${rest}`)

// Injected secrets look like real ones: long, from the token alphabets.
const secret = chars(ALNUM + '-_./+=', 12, 40)

const WORDS = ['the', 'order', 'id', '42', '2024', '19.99', 'x', '-', ':', 'EUR', 'ABCD', 'ok', '7', 'null', '1.5e3', '+', '(', ')', '#']
const filler = fc.array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 8 })), { maxLength: 4 }).map(w => w.join(' '))

interface Hidden { pii: string[], secrets: string[] }

const hiddenValues: fc.Arbitrary<Hidden> = fc.record({
  pii: fc.array(fc.oneof(email, card, ssn, iban, jwt, stripeKey, phone, bearer), { minLength: 1, maxLength: 5 }),
  secrets: fc.array(secret, { minLength: 1, maxLength: 3 }),
})

// A piece of text with a hole: the number picks a hidden value, modulo.
const HOLE = /§(\d+)§/g
const textWithHole = fc.tuple(filler, fc.nat(), filler).map(([a, n, b]) => `${a} §${n}§ ${b}`)
const plainOrHole = fc.oneof(filler, textWithHole)

function fill (template: string, values: string[]): string {
  return template.replace(HOLE, (_m, n: string) => values[Number(n) % values.length] as string)
}

const jsonDocument = fc.letrec<{ value: unknown, array: unknown[], object: Record<string, unknown> }>(tie => ({
  value: fc.oneof({ depthSize: 'small' }, plainOrHole, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), textWithHole), tie('value'), { maxKeys: 4 }),
})).value

function views (value: string): string[] {
  return [value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2), JSON.stringify(value).slice(1, -1)]
}

function expectNoneSurvive (output: string, hidden: Hidden): void {
  for (const value of [...hidden.pii, ...hidden.secrets]) {
    for (const view of views(value)) expect(output, `hidden value ${JSON.stringify(value)}`).not.toContain(view)
  }
}

function scrubberFor (hidden: Hidden, maxBodyBytes: number) {
  return compileScrubber({ logging: loggingPolicy({ maxBodyBytes }), secrets: () => hidden.secrets })
}

function checkBody (body: string, contentType: string | undefined, hidden: Hidden, maxBodyBytes: number): void {
  const buf = Buffer.from(body)
  const before = Buffer.from(buf)
  const out = scrubberFor(hidden, maxBodyBytes).body(buf, contentType, undefined, buf.length)
  expect(buf.equals(before)).toBe(true)
  // the scrubber's catch-all marker hides everything, and would hide a bug too
  expect(out).not.toMatch(/^\[unloggable body/)
  expectNoneSurvive(out, hidden)
}

const maxBytes = fc.oneof(fc.constant(1 << 20), fc.integer({ min: 8, max: 600 }))
const RUNS = { numRuns: 500 }

describe('no hidden value survives scrubbing', () => {
  test('in JSON bodies, at any depth, in keys and values', () => {
    fc.assert(fc.property(hiddenValues, jsonDocument, textWithHole, maxBytes, fc.constantFrom('application/json', undefined),
      (hidden, doc, extra, max, type) => {
        const values = [...hidden.pii, ...hidden.secrets]
        const body = fill(JSON.stringify([doc, extra]), values)
        checkBody(body, type, hidden, max)
      }), RUNS)
  })

  test('in form bodies, in keys and values, in either encoding', () => {
    const pairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom('a', 'note', 'q'), textWithHole), plainOrHole), { minLength: 1, maxLength: 6 })
    fc.assert(fc.property(hiddenValues, pairs, fc.boolean(), maxBytes, fc.constantFrom('application/x-www-form-urlencoded', undefined),
      (hidden, template, plusForSpace, max, type) => {
        const values = [...hidden.pii, ...hidden.secrets]
        const filled = template.map(([k, v]) => [fill(k, values), fill(v, values)] as [string, string])
        const body = plusForSpace
          ? new URLSearchParams(filled).toString()
          : filled.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')
        checkBody(body, type, hidden, max)
      }), RUNS)
  })

  test('in text bodies, anywhere', () => {
    fc.assert(fc.property(hiddenValues, fc.array(plainOrHole, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', ' ', ', ', '\t'), maxBytes, fc.constantFrom('text/plain', 'text/html', undefined),
      (hidden, lines, separator, max, type) => {
        const values = [...hidden.pii, ...hidden.secrets]
        checkBody(fill(lines.join(separator) + ` §0§ §${values.length - 1}§`, values), type, hidden, max)
      }), RUNS)
  })

  test('in paths and query strings', () => {
    const segments = fc.array(plainOrHole, { minLength: 1, maxLength: 4 })
    const query = fc.array(fc.tuple(fc.constantFrom('q', 'filter', 'email'), plainOrHole), { maxLength: 4 })
    fc.assert(fc.property(hiddenValues, segments, query, (hidden, segs, pairs) => {
      const values = [...hidden.pii, ...hidden.secrets]
      const path = '/' + segs.map(s => encodeURIComponent(fill(s, values))).join('/') +
        '?' + new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, fill(v, values)])).toString() + `&last=${encodeURIComponent(values[0] as string)}`
      expectNoneSurvive(scrubberFor(hidden, 4096).path(path), hidden)
    }), RUNS)
  })
})
