// Every code sluice can answer is in the one catalogue, and documented: the
// README's error table and the catalogue agree in both directions, status included.
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { ERRORS } from '../src/errors.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The rows of the table under "What sluice answers itself": code -> status. */
function documentedCodes (): Map<string, number> {
  const start = readme.indexOf('## What sluice answers itself')
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end === -1 ? undefined : end)
  const rows = new Map<string, number>()
  for (const m of section.matchAll(/^\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|/gm)) rows.set(m[2] as string, Number(m[1]))
  return rows
}

describe('the error catalogue and the README error table', () => {
  const documented = documentedCodes()

  it('finds the table', () => {
    expect(documented.size).toBeGreaterThan(10)
  })

  for (const [code, { status }] of Object.entries(ERRORS)) {
    it(`documents ${code} (${status})`, () => {
      expect(documented.get(code)).toBe(status)
    })
  }

  it('documents no code the catalogue does not have', () => {
    const extra = [...documented.keys()].filter(code => !(code in ERRORS))
    expect(extra).toEqual([])
  })
})
