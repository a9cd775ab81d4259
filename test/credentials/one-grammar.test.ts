// `validate` and the running proxy read secret references with one parser: a
// template validate refuses is refused by credentials too, and one it accepts
// is rendered. The cases include those two separate parsers once disagreed on.
import { describe, expect, it } from 'vitest'
import { createCredentials } from '../../src/credentials/index.js'
import { secretRefProblems } from '../../src/policy/secret-refs.js'
import { recordingLogger, vendorPolicy } from './helpers.js'

const env = { KEY: 'k1', OTHER: 'k2' }

describe('one secret-reference grammar', () => {
  it.each([
    'Bearer ${env:KEY}', '${env:KEY}:${env:OTHER}', 'no reference', 'price $5 {ok}',
    '${file:/run/dir/}', '${file:/run/a\u0001b}', '${env:A B}', '${ENV:KEY}', '${vault:x}', 'Bearer ${env:KEY',
    '${file:/}', '${file:relative}', '${}',
  ])('credentials refuse %j exactly when validate does', template => {
    const malformed = secretRefProblems(template).length > 0
    const creds = createCredentials(vendorPolicy({ headers: { 'x-key': template } }), { logger: recordingLogger().logger, env })
    try {
      expect(creds.unavailable().includes('inject.headers.x-key (malformed)')).toBe(malformed)
      if (!malformed) expect(creds.get()).toMatchObject({ headers: [['x-key', expect.any(String)]] })
    } finally {
      creds.close()
    }
  })
})
