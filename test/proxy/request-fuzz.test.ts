// Fuzz of the request path through a real sluice, seeded and bounded in time:
// random request lines, paths, encodings, methods, headers and body framings
// sent over raw sockets, to a real upstream that records every request it
// receives. The one invariant: each request is either answered by sluice with
// a catalogue code in `x-sluice-error`, never reaching the upstream, or
// reaches the upstream exactly once, with a path under the vendor's base path.
// Replay a failure with FUZZ_SEED=<seed printed by fast-check>.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERRORS } from '../../src/errors.js'
import { rawRequest, type RawResponse } from '../helpers/raw.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { climbsAboveBase, FUZZ_SEED, PATH_PIECES } from './fuzz-paths.js'

const BASE = '/base/v2'
const CODES = new Set(Object.keys(ERRORS))

let up: Upstream
let sluice: TestSluice
let n = 0
const outcomes = { refused: 0, forwarded: 0 }

beforeAll(async () => {
  up = await startUpstream((_req, res) => {
    res.setHeader('x-from-upstream', '1')
    res.end('up')
  })
  sluice = await startTestSluice({
    'v.yaml': `vendor: v\nupstream: ${up.url}${BASE}\nretry:\n  attempts: 1\n`,
  }, { logLevel: 'warn' })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

/** The requests the upstream received for fuzz case `id` (tagged in the query). */
function received (id: number): string[] {
  return up.seen.map(r => r.url).filter(url => new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('fz') === String(id))
}

function checkInvariant (id: number, res: RawResponse, text: string): void {
  const why = `case ${id}: ${JSON.stringify(text.slice(0, 300))} -> ${JSON.stringify(res.raw.slice(0, 300))}`
  expect(res.status, why).toBeGreaterThanOrEqual(100)
  const seen = received(id)
  const code = res.headers['x-sluice-error']
  if (code !== undefined) {
    expect(CODES.has(code), `${why}: "${code}" is not in the catalogue`).toBe(true)
    expect(seen, `${why}: answered by sluice, yet forwarded`).toEqual([])
    outcomes.refused++
    return
  }
  expect(res.headers['x-from-upstream'], `${why}: neither a sluice answer nor the vendor's`).toBe('1')
  expect(seen, `${why}: forwarded ${seen.length} times`).toHaveLength(1)
  const path = (seen[0] as string).split('?')[0] as string
  expect(path === BASE || path.startsWith(`${BASE}/`), `${why}: reached ${path}, outside ${BASE}`).toBe(true)
  expect(climbsAboveBase(path.slice(BASE.length)), `${why}: ${path} climbs above ${BASE}`).toBe(false)
  outcomes.forwarded++
}

// --- well-formed HTTP that node's parser accepts ---------------------------

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']
const PREFIXES = ['/v', '/v/', '/v//', '/V', '/vv', '/x', '//v', '/v;x', '/%76', 'http://localhost/v', 'http://localhost:1/v', 'http://localhost/']
const MORE_PIECES = ['..;', '.;', '%2e%2e;', '..%3b', '~', '-', '_', '!', '$', '\'', '(', ')', '*', '+', ',', '=', ':', '@', '&', '%41', '%20', '%e2%82%ac', '%zz', '%', '%00', '%2e%2e%2f', '..%2f', '%c0%ae']

// Half the cases mostly plain, so that many are forwarded and their upstream
// path checked; half dense with dots, separators and encodings.
const PLAIN_PIECES = ['/', 'a', 'b1', 'items', '.json', '-x', '%41', '%2F', ';v=1']
const pathPart = fc.oneof(
  fc.array(fc.oneof(
    { arbitrary: fc.constantFrom(...PLAIN_PIECES), weight: 6 },
    { arbitrary: fc.constantFrom(...PATH_PIECES, ...MORE_PIECES), weight: 1 }
  ), { maxLength: 10 }),
  fc.array(fc.constantFrom(...PATH_PIECES, ...MORE_PIECES), { maxLength: 10 })
).map(p => p.join(''))
const token = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'), { minLength: 1, maxLength: 10 }).map(a => a.join(''))
const headerValue = fc.array(fc.integer({ min: 0x21, max: 0x7e }).map(c => String.fromCharCode(c)), { maxLength: 24 })
  .map(a => a.join(''))
const header = fc.oneof(
  fc.tuple(token.map(t => `x-${t}`), headerValue),
  fc.tuple(fc.constantFrom('accept', 'user-agent', 'content-type', 'accept-encoding', 'x-request-id', 'cache-control', 'if-none-match', 'idempotency-key'), headerValue)
)
const body = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('length' as const), data: fc.string({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('chunked' as const), chunks: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 4 }) })
)
const request = fc.record({
  method: fc.constantFrom(...METHODS),
  prefix: fc.oneof({ arbitrary: fc.constant('/v/'), weight: 3 }, { arbitrary: fc.constantFrom(...PREFIXES), weight: 2 }),
  path: pathPart,
  query: fc.constantFrom('', 'a=1&', 'q=%2e%2e&', 'x=/../&'),
  headers: fc.array(header, { maxLength: 5 }),
  body,
})

type Fuzzed = typeof request extends fc.Arbitrary<infer T> ? T : never

function wellFormed (id: number, r: Fuzzed): string {
  const lines = [`${r.method} ${r.prefix}${r.path}?${r.query}fz=${id} HTTP/1.1`, 'Host: localhost', 'Connection: close']
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`)
  let payload = ''
  if (r.body.kind === 'length') {
    lines.push(`Content-Length: ${Buffer.byteLength(r.body.data)}`)
    payload = r.body.data
  } else if (r.body.kind === 'chunked') {
    lines.push('Transfer-Encoding: chunked')
    payload = r.body.chunks.map(c => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n'
  }
  return lines.join('\r\n') + '\r\n\r\n' + payload
}

describe('well-formed requests, fuzzed', () => {
  it('are refused with a catalogue code and never forwarded, or forwarded once under the base path', async () => {
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const id = ++n
      const text = wellFormed(id, r)
      checkInvariant(id, await rawRequest(sluice.url, text), text)
    }), { seed: FUZZ_SEED, numRuns: 2000, interruptAfterTimeLimit: 4000 })
    // however few cases a slow machine got through, both outcomes were tried
    expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(0)
    expect(outcomes.forwarded, JSON.stringify(outcomes)).toBeGreaterThan(0)
  }, 30_000)
})

// --- bytes node's parser refuses --------------------------------------------

const MALFORMED = [
  (id: number) => `GET /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nX A: b\r\nConnection: close\r\n\r\n`,
  (id: number) => `GET /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nX-A: b\u0000c\r\nConnection: close\r\n\r\n`,
  (id: number) => `GET /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n  folded\r\nConnection: close\r\n\r\n`,
  (id: number) => `POST /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
  (id: number) => `POST /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`,
  (id: number) => `GET /v/a?fz=${id} HTTP/9.9\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  (id: number) => `FOO /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  (id: number) => `GET /v/\u00e9?fz=${id} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  (id: number) => `GET  /v/a?fz=${id} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  (id: number) => `GET /v/a?fz=${id}\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  (id: number) => 'CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n',
]

describe('malformed requests, fuzzed', () => {
  it('are refused with a catalogue code and never forwarded, or forwarded once under the base path', async () => {
    const mutated = fc.record({ make: fc.constantFrom(...MALFORMED), junk: fc.string({ maxLength: 8 }), at: fc.nat() })
    await fc.assert(fc.asyncProperty(mutated, async ({ make, junk, at }) => {
      const clean = make(++n)
      checkInvariant(n, await rawRequest(sluice.url, Buffer.from(clean, 'latin1')), clean)
      // and a few random characters spliced into its header lines (the request line, and its tag, kept)
      const id = ++n
      const text = make(id)
      const from = text.indexOf('\r\n') + 2
      const cut = from + at % Math.max(1, text.indexOf('\r\n\r\n') - from)
      const spliced = text.slice(0, cut) + junk + text.slice(cut)
      checkInvariant(id, await rawRequest(sluice.url, Buffer.from(spliced, 'latin1')), spliced)
    }), { seed: FUZZ_SEED, numRuns: 500, interruptAfterTimeLimit: 4000 })
  }, 30_000)
})
