// The request line is serialised by hand (src/observability/request-line.ts):
// it must stay one valid JSON line whatever the strings in it hold, carry the
// same fields pino would have written, and keep pino's field order.
import { describe, expect, it } from 'vitest'
import { formatRequestLine, type RequestLine } from '../../src/observability/request-line.js'

const BASE: RequestLine = {
  reqId: 'r-1',
  vendor: 'stripe',
  method: 'GET',
  path: '/stripe/v1/charges',
  status: 200,
  durationMs: 12.3,
  upstreamMs: 10.1,
  attempts: 1,
  waitMs: 0,
  error: undefined,
}

function withoutUndefined (o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
}

const AWKWARD = [
  '', 'plain', 'quote " inside', 'back\\slash', 'tab\there', 'new\nline', 'cr\r',
  String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)),
  '\u2028\u2029', 'émoji 🚀', 'lone \ud800 surrogate', '</script>', '{"json":"in a string"}',
]

describe('formatRequestLine', () => {
  it('writes one JSON line that reads back as the fields given, with pino\'s level, time and msg', () => {
    const text = formatRequestLine(BASE, 1_700_000_000_123)
    expect(text.endsWith('}\n')).toBe(true)
    expect(text.indexOf('\n')).toBe(text.length - 1)
    // error is undefined in BASE: absent from the line
    expect(JSON.parse(text)).toStrictEqual({ level: 'info', time: 1_700_000_000_123, ...withoutUndefined(BASE), msg: 'request' })
  })

  it('keeps pino\'s order: level and time first, msg last', () => {
    const keys = Object.keys(JSON.parse(formatRequestLine({ ...BASE, error: 'upstream_timeout', cutOff: true }, 1)) as object)
    expect(keys.slice(0, 2)).toEqual(['level', 'time'])
    expect(keys.at(-1)).toBe('msg')
  })

  it.each(AWKWARD)('escapes %j wherever a string goes, so the line stays one parseable line', (s) => {
    const line: RequestLine = { ...BASE, reqId: s, vendor: s, method: s, path: s, error: s, cause: s, reqBody: s, resBody: { note: s } }
    const text = formatRequestLine(line, 5)
    expect(text.slice(0, -1)).not.toMatch(/[\n\r]/)
    const back = JSON.parse(text) as Record<string, unknown>
    expect(back).toMatchObject({ reqId: s, vendor: s, method: s, path: s, error: s, cause: s, reqBody: s, resBody: { note: s } })
  })

  it('writes the optional fields only when set, and the flags as true', () => {
    const plain = JSON.parse(formatRequestLine({ ...BASE, vendor: undefined }, 1)) as Record<string, unknown>
    for (const k of ['vendor', 'error', 'cause', 'wouldLimit', 'cutOff', 'clientGone', 'reqBody', 'resBody']) expect(plain).not.toHaveProperty(k)
    const all = JSON.parse(formatRequestLine({ ...BASE, error: 'rate_limited', cause: 'ECONNRESET', wouldLimit: true, cutOff: true, clientGone: true, status: 499 }, 1)) as Record<string, unknown>
    expect(all).toMatchObject({ error: 'rate_limited', cause: 'ECONNRESET', wouldLimit: true, cutOff: true, clientGone: true, status: 499 })
  })
})
