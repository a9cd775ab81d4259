// `sluice validate` and `sluice explain` (SPEC sections 1 and 6).
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { CLI, policyDir } from '../helpers/sluice.js'

const exec = promisify(execFile)
async function cli (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const GOOD = {
  'defaults.yaml': 'timeouts:\n  read: 20s\n',
  'stripe.yaml': 'vendor: stripe\nupstream: https://api.stripe.com\ninject:\n  headers:\n    Authorization: "Bearer ${env:STRIPE_TEST_SECRET_KEY}"\n',
}

describe('sluice validate', () => {
  it('exits 0 on the shipped example policies, without any secret at hand', async () => {
    const r = await cli(['validate', 'policies'])
    expect(r.stderr + r.stdout).not.toMatch(/:\d+:\d+:/)
    expect(r.code).toBe(0)
  })

  it('exits 1 with one FILE:LINE:COL line per problem', async () => {
    const dir = await policyDir({
      'a.yaml': 'vendor: a\nupstream: ftp://x\n',
      'b.yaml': 'vendor: a\nupstream: https://b.example.com\nrateLimit:\n  buckets:\n    - name: x\n      capacity: 10\n      refill: 10/fortnight\n',
    })
    const r = await cli(['validate', dir])
    expect(r.code).toBe(1)
    const lines = r.stdout.trim().split('\n')
    expect(lines.length).toBe(3)
    for (const l of lines) expect(l).toMatch(new RegExp(`^${dir}/[ab]\\.yaml:\\d+:\\d+: .+`))
    expect(r.stdout).toMatch(/b\.yaml:7:15: .*refill/)
  })

  it('checks only the form of secret references, and with --resolve-secrets their resolution', async () => {
    const dir = await policyDir(GOOD)
    expect((await cli(['validate', dir])).code).toBe(0)
    const missing = await cli(['validate', dir, '--resolve-secrets'])
    expect(missing.code).toBe(1)
    expect(missing.stdout).toContain('${env:STRIPE_TEST_SECRET_KEY}')
    const present = await cli(['validate', dir, '--resolve-secrets'], { STRIPE_TEST_SECRET_KEY: 'sk_test_value_never_printed' })
    expect(present.code).toBe(0)
    expect(present.stdout + present.stderr).not.toContain('sk_test_value_never_printed')
  })
})

describe('sluice explain', () => {
  it('prints the effective policy after defaults, with secrets masked', async () => {
    const dir = await policyDir(GOOD)
    const r = await cli(['explain', dir, '--vendor', 'stripe'], { STRIPE_TEST_SECRET_KEY: 'sk_test_value_never_printed' })
    expect(r.code).toBe(0)
    const [p] = JSON.parse(r.stdout) as Array<{ vendor: string, timeouts: { read: string, connect: string } }>
    expect(p?.vendor).toBe('stripe')
    expect(p?.timeouts.read).toBe('20s')
    expect(p?.timeouts.connect).toBe('5s')
    expect(r.stdout).toContain('${env:STRIPE_TEST_SECRET_KEY}')
    expect(r.stdout).not.toContain('sk_test_value_never_printed')
  })

  it('exits 1 for an unknown vendor', async () => {
    const dir = await policyDir(GOOD)
    expect((await cli(['explain', dir, '--vendor', 'nope'])).code).toBe(1)
  })
})
