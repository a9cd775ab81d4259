// Every code sluice can answer is in the one catalogue, and documented.
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { ERRORS } from '../src/errors.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('the error catalogue', () => {
  for (const [code, { status }] of Object.entries(ERRORS)) {
    it(`documents ${code} (${status}) in the README's error table`, () => {
      expect(readme).toMatch(new RegExp(`\\|\\s*${status}\\s*\\|\\s*\`${code}\`\\s*\\|`))
    })
  }
})
