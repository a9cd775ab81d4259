// Property, end to end (SPEC section 5): random JSON, form and text bodies
// hiding generated PII and secrets (e-mail, Luhn-valid cards, SSNs, IBANs,
// JWTs, sk_live_ keys, and the value sluice injects) at random depths and
// places go through a real sluice with logging.bodies on. None may survive in
// any log line, while the vendor gets exactly the bytes sent and the client
// exactly the bytes the vendor answered. Each run is a real call, so the run
// count is kept small.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { ibanFor, jwtFor, luhnComplete } from '../observability/factories.js'
import { eventually } from '../helpers/wait.js'

const INJECTED = 'inj-hazel-5530-prow-Q7'
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

const DIGITS = '0123456789'
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const ALNUM = LOWER + LOWER.toUpperCase() + DIGITS
const chars = (alphabet: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map(a => a.join(''))
const grouped = (v: string, sep: string): string => v.replace(/(.{4})(?!$)/g, `$1${sep}`)

const email = fc.tuple(chars(LOWER + DIGITS + '._', 1, 12), chars(LOWER, 2, 10), fc.constantFrom('com', 'org', 'io', 'de'))
  .map(([local, domain, tld]) => `${local.replace(/^\.|\.$/g, 'x')}@${domain}.${tld}`)
const card = fc.tuple(fc.constantFrom('4', '51', '55', '6011'), chars(DIGITS, 15, 15))
  .map(([prefix, rest]) => luhnComplete((prefix + rest).slice(0, 15)))
  .chain(n => fc.constantFrom(n, grouped(n, ' '), grouped(n, '-')))
const ssn = fc.tuple(fc.integer({ min: 1, max: 665 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }))
  .map(([a, g, s]) => `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`)
const iban = fc.tuple(fc.constantFrom('DE', 'FR', 'NL', 'GB'), chars(DIGITS, 18, 18))
  .map(([country, bban]) => ibanFor(country, bban))
  .chain(v => fc.constantFrom(v, grouped(v, ' ')))
const jwt = fc.record({ sub: chars(ALNUM, 3, 12), n: fc.integer() }).map(jwtFor)
const stripeKey = chars(ALNUM, 24, 24).map(k => `sk_live_${k}`)
const hidden = fc.array(fc.oneof(email, card, ssn, iban, jwt, stripeKey, fc.constant(INJECTED)), { minLength: 1, maxLength: 6 })

// Text around a hidden value, split from it the way prose and data are.
const WORDS = ['order', 'note', 'id', '42', 'EUR', '19.99', 'ok', 'see', 'from', 'ref', '2024-01-02']
const SEPARATORS = [' ', ', ', ': ', '\n', ' (', ') ', ' "', '" ', ' <', '> ', ' / ', ' = ']
const words = fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }).map(w => w.join(' '))
const around = fc.tuple(words, fc.constantFrom(...SEPARATORS), fc.constantFrom(...SEPARATORS), words)
/** `value` alone, or inside other text */
function embed (value: string): fc.Arbitrary<string> {
  return fc.oneof(fc.constant(value), around.map(([a, s1, s2, b]) => `${a}${s1}${value}${s2}${b}`))
}

const KEYS = ['data', 'items', 'user', 'meta', 'note', 'address', 'lines', 'payload', 'ref', 'x']
const filler = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), words)
/** A path of containers down to the value: [kind, key, siblings] per level, outermost first. */
const levels = fc.array(fc.tuple(fc.constantFrom('object', 'array'), fc.constantFrom(...KEYS), fc.array(filler, { maxLength: 2 })), { maxLength: 6 })

/** The raw JSON text of a value at the bottom of `path`: a string, or (a compact card) a bare number. */
function nest (path: Array<[string, string, unknown[]]>, leaf: string): string {
  let json = leaf
  for (let i = path.length - 1; i >= 0; i--) {
    const [kind, key, siblings] = path[i]!
    const rest = siblings.map((s, j) => kind === 'object' ? `${JSON.stringify(`${key}${j}`)}:${JSON.stringify(s)}` : JSON.stringify(s))
    json = kind === 'object' ? `{${[...rest, `${JSON.stringify(key)}:${json}`].join(',')}}` : `[${[...rest, json].join(',')}]`
  }
  return json
}

interface Body { contentType: string, text: string, values: string[] }

const jsonBody: fc.Arbitrary<Body> = hidden.chain(values => fc.tuple(
  ...values.map(v => fc.tuple(levels, embed(v), fc.boolean()).map(([path, text, bare]) =>
    nest(path, bare && /^\d+$/.test(text) ? text : JSON.stringify(text))))
).map(members => ({ contentType: 'application/json', text: `{${members.map((m, i) => `"f${i}":${m}`).join(',')}}`, values })))

const formBody: fc.Arbitrary<Body> = hidden.chain(values => fc.tuple(
  fc.tuple(...values.map(v => fc.tuple(fc.constantFrom(...KEYS), embed(v)))),
  fc.boolean()
).map(([pairs, plus]) => ({
  contentType: 'application/x-www-form-urlencoded',
  text: plus
    ? new URLSearchParams(pairs).toString()
    : pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
  values,
})))

const textBody: fc.Arbitrary<Body> = hidden.chain(values => fc.tuple(...values.map(embed), fc.constantFrom('\n', ' ', '. ')).map(parts => ({
  contentType: 'text/plain; charset=utf-8',
  text: parts.slice(0, -1).join(parts.at(-1) as string),
  values,
})))

/** The spellings a hidden value could take in a log line. */
function spellings (v: string): string[] {
  return [...new Set([v, encodeURIComponent(v), new URLSearchParams([['', v]]).toString().slice(1), JSON.stringify(v).slice(1, -1)])]
}

let up: Upstream
let sluice: TestSluice
let n = 0

function policy (vendor: string, maxBodyBytes: string): string {
  return `vendor: ${vendor}\nupstream: ${up.url}\ninject:\n  headers:\n    X-Api-Key: "\${env:E2E_PROP_SECRET}"\nlogging:\n  bodies: true\n  maxBodyBytes: ${maxBodyBytes}\n`
}

beforeAll(async () => {
  process.env.E2E_PROP_SECRET = INJECTED
  // The vendor answers with the body it got, as it got it.
  up = await startUpstream((req, res, body) => {
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'text/plain', 'x-got-sha': sha(body) })
    res.end(body)
  })
  sluice = await startTestSluice({
    'acme.yaml': policy('acme', '64kb'),
    // Bodies cut short: a value may be cut in two at the end of the logged part.
    'short.yaml': policy('short', '120b'),
  }, { logLevel: 'trace' })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('PII and secrets hidden in bodies', () => {
  it('never reach a log line, and every byte reaches the vendor and back unchanged', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(jsonBody, formBody, textBody), fc.nat(), fc.constantFrom('acme', 'short'), async (body, pick, vendor) => {
      const id = `prop-${++n}`
      const inQuery = body.values[pick % body.values.length] as string
      const res = await request(`${sluice.url}/${vendor}/v1/echo?ref=${encodeURIComponent(inQuery)}`, {
        method: 'POST',
        body: body.text,
        headers: { 'content-type': body.contentType, 'x-request-id': id },
      })
      const answered = Buffer.from(await res.body.arrayBuffer())
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-got-sha']).toBe(sha(body.text)) // the vendor got the bytes sent
      expect(sha(answered)).toBe(sha(body.text)) //            the client got the bytes the vendor sent
      expect(up.seen.at(-1)!.headers['x-api-key']).toBe(INJECTED)

      await eventually(() => requestLines(sluice).some(l => l.reqId === id))
      const line = requestLines(sluice).find(l => l.reqId === id)!
      expect(typeof line.reqBody).toBe('string')
      expect(typeof line.resBody).toBe('string')
      // scrubbed, not replaced by the catch-all marker of a scrubber that failed
      expect(line.reqBody).not.toMatch(/^\[unloggable body/)
      expect(line.resBody).not.toMatch(/^\[unloggable body/)
      const log = sluice.logText()
      for (const value of body.values) {
        for (const form of spellings(value)) expect(log.includes(form), `a hidden ${body.contentType} value survived in the log`).toBe(false)
      }
    }), { numRuns: Number(process.env.E2E_RUNS ?? 30) })
  }, 60_000)
})
