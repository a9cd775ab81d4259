// `sluice validate` reports every problem of every path in one run, warnings
// apart from errors, as text or as GitHub annotations: checked against golden files.
import { describe, expect, it } from 'vitest'
import { expectGolden, runCli } from '../helpers/cli.js'

const cwd = new URL('./fixtures/validate/', import.meta.url).pathname
const golden = (name: string): URL => new URL(`./fixtures/validate/${name}`, import.meta.url)

describe('sluice validate report', () => {
  it('prints errors and warnings of every file at once, exit 1', async () => {
    const r = await runCli(['validate', 'mixed'], { cwd })
    expectGolden(r.stdout, golden('mixed.text.golden'))
    expect(r.code).toBe(1)
  })

  it('prints GitHub annotations with --format github', async () => {
    const r = await runCli(['validate', '--format', 'github', 'mixed'], { cwd })
    expectGolden(r.stdout, golden('mixed.github.golden'))
    expect(r.code).toBe(1)
  })

  it('exits 0 when there are only warnings', async () => {
    const r = await runCli(['validate', 'warn-only'], { cwd })
    expectGolden(r.stdout, golden('warn-only.text.golden'))
    expect(r.code).toBe(0)
  })

  it('validates every path given, in order', async () => {
    const r = await runCli(['validate', 'warn-only', 'mixed'], { cwd })
    expect(r.stdout).toBe((await runCli(['validate', 'warn-only'], { cwd })).stdout + (await runCli(['validate', 'mixed'], { cwd })).stdout)
    expect(r.code).toBe(1)
  })

  it('refuses an unknown --format as a usage error', async () => {
    const r = await runCli(['validate', '--format', 'xml', 'mixed'], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe('--format: "xml" is not text or github')
  })
})
