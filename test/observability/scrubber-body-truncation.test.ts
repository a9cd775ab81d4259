import { describe, expect, test } from 'vitest'
import { utf8SafeEnd } from '../../src/observability/body-scrub.js'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

function scrubberWith (maxBodyBytes: number, secrets: string[] = []) {
  return compileScrubber({ logging: loggingPolicy({ maxBodyBytes }), secrets: () => secrets })
}

describe('truncation at maxBodyBytes', () => {
  test('cuts a text body at maxBytes', () => {
    const body = Buffer.from('hello world and more')
    expect(scrubberWith(12).body(body, 'text/plain', undefined, body.length)).toBe('hello world ')
  })

  test('never splits a multi-byte character', () => {
    const body = Buffer.from('ab€ü😀€€😀😀 done') // 1, 2, 3 and 4-byte characters
    for (let max = 0; max <= body.length; max++) {
      const out = scrubberWith(max).body(body, 'text/plain', undefined, body.length)
      expect(out, `max ${max}`).not.toContain('\ufffd')
      expect(Buffer.byteLength(out), `max ${max}`).toBeLessThanOrEqual(max)
      expect(body.toString('utf8').startsWith(out), `max ${max}`).toBe(true)
    }
  })

  test('finds the last character boundary at or before the cut', () => {
    const buf = Buffer.from('a€😀') // a: 1 byte, €: 3 bytes (1..3), 😀: 4 bytes (4..7)
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(end => utf8SafeEnd(buf, end))).toEqual([0, 1, 1, 1, 4, 4, 4, 4, 8])
  })

  test('keeps whole characters up to the cut', () => {
    const body = Buffer.from('é € 😀 é € 😀 end')
    const out = scrubberWith(16).body(body, 'text/plain', undefined, body.length) // byte 16 is inside the second €
    expect(out).toBe('é € 😀 é ')
  })

  test('cuts a body captured whole and one captured already cut the same way', () => {
    const body = Buffer.from('zz €€€€ zz')
    const whole = scrubberWith(5).body(body, 'text/plain', undefined, body.length)
    const captured = scrubberWith(5).body(body.subarray(0, 5), 'text/plain', undefined, body.length)
    expect(whole).toBe(captured)
  })

  test('drops the unfinished last word, where a cut e-mail or token would hide', () => {
    const body = Buffer.from('contact jo.smith@example.com now')
    const out = scrubberWith(22).body(body, 'text/plain', undefined, body.length)
    expect(out).toBe('contact ')
    const json = Buffer.from('{"note":"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig"}')
    expect(scrubberWith(40).body(json, 'application/json', undefined, json.length)).toBe('{"note":"jwt ')
  })

  test('drops the beginning of a secret left at the cut, even one with spaces', () => {
    const body = Buffer.from('say open sesame now please')
    expect(scrubberWith(12, ['open sesame now']).body(body, 'text/plain', undefined, body.length)).toBe('say ')
    expect(scrubberWith(12, []).body(body, 'text/plain', undefined, body.length)).toBe('say open ')
  })

  test('masks a field whose value was cut', () => {
    const body = Buffer.from('{"user":{"password":"correct horse battery staple"}}')
    const out = scrubberWith(36).body(body, 'application/json', undefined, body.length)
    expect(out).toBe('{"user":{"password":"[REDACTED]"')
  })

  test('a body no longer than maxBytes is not cut', () => {
    const body = Buffer.from('exactly')
    expect(scrubberWith(7).body(body, 'text/plain', undefined, 7)).toBe('exactly')
  })
})
