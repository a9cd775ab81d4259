// `sluice replay`: a small request log (out of arrival order, with a per-tenant
// bucket, a call outside the allow rules, one that matches no vendor and a
// broken line) through one policy set and two side by side; exact output.
import { describe, expect, it } from 'vitest'
import { expectGolden, runCli } from '../helpers/cli.js'

const cwd = new URL('./fixtures/', import.meta.url).pathname
const golden = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url)

describe('sluice replay', () => {
  it('prints calls, allowed, queued with waits, refused and not allowed per vendor and bucket', async () => {
    const r = await runCli(['replay', '--policies', 'before', '--log', 'requests.log'], { cwd })
    expect(r.stderr).toBe('')
    expectGolden(r.stdout, golden('before.txt'))
    expect(r.code).toBe(0)
  })

  it('puts both sides in one table with --compare', async () => {
    const r = await runCli(['replay', '--policies', 'before', '--compare', 'after', '--log', 'requests.log'], { cwd })
    expectGolden(r.stdout, golden('compare.txt'))
    expect(r.code).toBe(0)
  })

  it('prints the same as JSON for tools', async () => {
    const r = await runCli(['replay', '--policies', 'before', '--compare', 'after', '--log', 'requests.log', '--format', 'json'], { cwd })
    expectGolden(r.stdout, golden('compare.json'))
    expect(r.code).toBe(0)
  })

  it('exits 1 for a log it cannot read, 2 without --log', async () => {
    const missing = await runCli(['replay', '--policies', 'before', '--log', 'nope.log'], { cwd })
    expect(missing).toMatchObject({ code: 1, stderr: 'nope.log: cannot read: no such file\n' })
    const usage = await runCli(['replay', '--policies', 'before'], { cwd })
    expect(usage.code).toBe(2)
    expect(usage.stderr.split('\n')[0]).toBe('--log is required')
  })
})
