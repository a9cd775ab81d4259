// `sluice diff` in plain words: one fixture pair per kind of change (old/ and
// new/ policy folders), each with the exact text it prints in expected.txt.
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { diffPolicies } from '../../src/policy/diff.js'
import { formatDiff } from '../../src/policy/diff-format.js'
import { loadPolicies } from '../../src/policy/load.js'
import { expectGolden } from '../helpers/cli.js'

const root = new URL('./fixtures/diff/', import.meta.url)
const cases = readdirSync(fileURLToPath(root)).filter(name => name !== 'invalid-side')

async function effective (path: string): Promise<NonNullable<Awaited<ReturnType<typeof loadPolicies>>['set']>> {
  const { set, problems } = await loadPolicies(path)
  expect(problems).toEqual([])
  return set as NonNullable<typeof set>
}

describe('policy diff', () => {
  it.each(cases)('%s', async (name) => {
    const dir = fileURLToPath(new URL(`${name}/`, root))
    const before = await effective(`${dir}old`)
    const after = await effective(`${dir}new`)
    expectGolden(formatDiff(diffPolicies(before.vendors, after.vendors), 'text'), new URL(`${name}/expected.txt`, root))
  })

  it('never prints a literal credential, only its mask', async () => {
    const dir = fileURLToPath(new URL('secret-masked/', root))
    const diffs = diffPolicies((await effective(`${dir}old`)).vendors, (await effective(`${dir}new`)).vendors)
    for (const format of ['text', 'markdown', 'json'] as const) {
      expect(formatDiff(diffs, format)).not.toContain('sk_live_old_literal_never_shown')
    }
  })
})
