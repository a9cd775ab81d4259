// `sluice diff OLD NEW` as a user runs it: exact output in each format, and its exit codes.
import { describe, expect, it } from 'vitest'
import { expectGolden, runCli } from '../helpers/cli.js'

const cwd = new URL('./fixtures/diff/', import.meta.url).pathname
const golden = (name: string): URL => new URL(`./fixtures/diff/${name}`, import.meta.url)

describe('sluice diff', () => {
  it.each(['text', 'markdown', 'json'])('prints the changes as %s, exit 0', async (format) => {
    const r = await runCli(['diff', 'old', 'new', '--format', format], { cwd })
    expectGolden(r.stdout, golden(`expected.${format === 'markdown' ? 'md' : format === 'json' ? 'json' : 'txt'}`))
    expect(r.code).toBe(0)
  })

  it('exits 1 and prints the problems when a side is invalid', async () => {
    const r = await runCli(['diff', 'old', '../../../policy/fixtures/diff/invalid-side/new'], { cwd })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('../../../policy/fixtures/diff/invalid-side/new/stripe.yaml:6:17: rateLimit.buckets[0].capacity: expected an integer (got "lots")\n')
  })

  it('exits 2 on a usage error', async () => {
    const one = await runCli(['diff', 'old'], { cwd })
    expect(one.code).toBe(2)
    expect(one.stderr.split('\n')[0]).toBe('diff takes two policy sets, OLD and NEW (got 1)')
    const format = await runCli(['diff', 'old', 'new', '--format', 'html'], { cwd })
    expect(format.code).toBe(2)
    expect(format.stderr.split('\n')[0]).toBe('--format: "html" is not text, markdown, or json')
  })
})
