// The command line itself: --version, --help on every command, and usage
// errors (exit 2) that name what the user typed.
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { expectGolden, runCli } from '../helpers/cli.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
const first = (text: string): string => text.split('\n')[0] as string

describe('sluice command line', () => {
  it('prints its version', async () => {
    const r = await runCli(['--version'])
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' })
  })

  it('lists the commands with --help', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    expectGolden(r.stdout, new URL('./fixtures/usage/help.txt', import.meta.url))
  })

  it.each(['start', 'validate', 'explain', 'diff', 'replay', 'jobs', 'schema'])('%s --help prints its usage, exit 0', async (command) => {
    const r = await runCli([command, '--help'])
    expect(r.code).toBe(0)
    expect(first(r.stdout)).toMatch(new RegExp(`^usage: sluice ${command}\\b`))
    expect(r.stdout).not.toContain('"$schema"')
  })

  it('refuses an unknown command, or a word start does not take, with exit 2', async () => {
    const unknown = await runCli(['strat'])
    expect(unknown.code).toBe(2)
    expect(first(unknown.stderr)).toBe('unknown command "strat"')
    const extra = await runCli(['start', 'policies'])
    expect(extra.code).toBe(2)
    expect(first(extra.stderr)).toMatch(/^Unexpected argument 'policies'/)
  })

  it('reports a bad flag value as the flag, and a bad variable as the variable', async () => {
    const flag = await runCli(['start', '--port', 'abc'])
    expect(flag.code).toBe(2)
    expect(first(flag.stderr)).toBe('--port: "abc" is not a port (0-65535)')
    const env = await runCli(['start'], { env: { SLUICE_ADMIN_PORT: 'abc' } })
    expect(env.code).toBe(2)
    expect(first(env.stderr)).toBe('SLUICE_ADMIN_PORT: "abc" is not a port (0-65535)')
  })

  it('says which listeners clash on one port', async () => {
    const r = await runCli(['start', '--port', '8123'], { env: { SLUICE_ADMIN_PORT: '8123' } })
    expect(r.code).toBe(2)
    expect(first(r.stderr)).toBe('--port and SLUICE_ADMIN_PORT are both 8123: the proxy listener and the admin listener need different ports')
  })

  it('refuses one Redis server and a cluster at once', async () => {
    const r = await runCli(['start', '--redis', 'redis://127.0.0.1:1'], { env: { SLUICE_REDIS_CLUSTER: '127.0.0.1:7000' } })
    expect(r.code).toBe(2)
    expect(first(r.stderr)).toBe('--redis and SLUICE_REDIS_CLUSTER are both set: give one Redis server or one cluster, not both')
  })

  it('names the listener that cannot bind its port', async () => {
    const taken = createServer()
    await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const r = await runCli(['start', '--port', '0', '--admin-port', String(port), '--log-level', 'fatal'])
      expect(r.code).toBe(1)
      const line = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { msg: string, err: { message: string } }
      expect(line.msg).toBe('cannot start')
      expect(line.err.message).toBe(`admin listener (127.0.0.1:${port}): listen EADDRINUSE: address already in use 127.0.0.1:${port}`)
    } finally {
      taken.close()
    }
  })
})
