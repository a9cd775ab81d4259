import { describe, expect, test } from 'vitest'
import { compileScrubber } from '../../src/observability/scrubber.js'
import { loggingPolicy } from './factories.js'

const scrubber = compileScrubber({
  logging: loggingPolicy({ redact: { fields: ['card[number]', 'memo'] } }),
})

function scrub (raw: string, type: string | undefined): string {
  return scrubber.body(Buffer.from(raw), type, undefined, Buffer.byteLength(raw))
}

describe('form bodies', () => {
  const FORM = 'application/x-www-form-urlencoded'

  test('masks fields by name and bracket path, scrubs patterns in values', () => {
    expect(scrub('amount=100&password=hunter2&card[number]=4242&card[exp_month]=12&memo=hi&email=jo%40example.com', FORM))
      .toBe('amount=100&password=[REDACTED]&card[number]=[REDACTED]&card[exp_month]=12&memo=[REDACTED]&email=[REDACTED:email]')
  })

  test('reads + as a space', () => {
    expect(scrub('note=card+4111+1111+1111+1111', FORM)).toBe('note=card%20[REDACTED:card]')
  })

  test('recognises an unlabelled form body', () => {
    expect(scrub('user=jo&pass%77ord=x', undefined)).toBe('user=jo&pass%77ord=[REDACTED]')
  })

  test('checks percent-encoded text decoded, even without a "="', () => {
    expect(scrub('jo%40example.com%20', undefined)).toBe('[REDACTED:email]%20')
    expect(scrub('mail to jo%40example.com', 'text/plain')).toBe('mail to [REDACTED:email]')
  })

  test('leaves a clean body as written', () => {
    expect(scrub('a=1&b=two+words&c=%7E', FORM)).toBe('a=1&b=two+words&c=%7E')
  })
})

describe('multipart bodies', () => {
  const boundary = '----sluice42'
  const TYPE = `multipart/form-data; boundary="${boundary}"`
  const body = [
    `--${boundary}`, 'Content-Disposition: form-data; name="password"', '', 'hunter2',
    `--${boundary}`, 'Content-Disposition: form-data; name="note"', '', 'call +1 415 555 2671',
    `--${boundary}`, 'Content-Disposition: form-data; name="meta"', 'Content-Type: application/json', '', '{"token":"t1","ok":true}',
    `--${boundary}--`, '',
  ].join('\r\n')

  test('masks named fields, scrubs JSON parts as JSON and the rest as text', () => {
    expect(scrub(body, TYPE)).toBe([
      `--${boundary}`, 'Content-Disposition: form-data; name="password"', '', '[REDACTED]',
      `--${boundary}`, 'Content-Disposition: form-data; name="note"', '', 'call [REDACTED:phone]',
      `--${boundary}`, 'Content-Disposition: form-data; name="meta"', 'Content-Type: application/json', '', '{"token":"[REDACTED]","ok":true}',
      `--${boundary}--`, '',
    ].join('\r\n'))
  })
})

describe('text bodies', () => {
  test('scrubs patterns anywhere in the text', () => {
    expect(scrub('<p>Contact jo@example.com, SSN 123-45-6789</p>', 'text/html'))
      .toBe('<p>Contact [REDACTED:email], SSN [REDACTED:ssn]</p>')
  })

  test('an empty body is an empty string', () => {
    expect(scrubber.body(Buffer.alloc(0), 'application/json', undefined, 0)).toBe('')
  })
})
