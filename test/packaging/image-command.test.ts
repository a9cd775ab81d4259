// The container's command line, run here without Docker: the Dockerfile's
// ENTRYPOINT, CMD and ENV against dist/cli.js, the image's HEALTHCHECK, and
// the chart's in-container probe, all against the real process.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, runCli, type CliProcess } from '../helpers/sluice.js'
import { definedTemplate, templates } from './chart.js'
import { all, env, execForm, last, parseCopy, readDockerfile, ROOT } from './dockerfile.js'

const runtime = readDockerfile().stages.at(-1)
if (runtime === undefined) throw new Error('the Dockerfile has no stage')
const entrypoint = execForm(last(runtime, 'ENTRYPOINT')?.args ?? '') ?? []
const cmd = execForm(last(runtime, 'CMD')?.args ?? '') ?? []
const healthcheck = execForm(last(runtime, 'HEALTHCHECK')?.args ?? '') ?? []

/**
 * The image's environment, with its paths mapped back to the repository: the
 * policy folder is the one the Dockerfile copies there. Ports 0, as other
 * processes on this machine may hold 8080 and 9090.
 */
function imageEnv (): Record<string, string> {
  const vars = env(runtime as NonNullable<typeof runtime>)
  const policies = all(runtime as NonNullable<typeof runtime>, 'COPY').map(parseCopy).find(c => c.dest === vars.SLUICE_POLICIES)
  if (policies === undefined) throw new Error(`nothing is copied to SLUICE_POLICIES (${vars.SLUICE_POLICIES})`)
  return { ...vars, SLUICE_POLICIES: join(ROOT, policies.sources[0] as string), SLUICE_PORT: '0', SLUICE_ADMIN_PORT: '0' }
}

/** The chart's exec probe script (`sluice.probeAction`), as bash will run it. */
function probeScript (): string {
  const action = definedTemplate(templates()['_helpers.tpl'] as string, 'sluice.probeAction')
  const m = /- \/bin\/bash\s+- -c\s+- '((?:[^']|'')*)'\s+- probe/.exec(action)
  if (m === null) throw new Error('no bash probe in sluice.probeAction')
  return (m[1] as string).replace(/''/g, "'")
}

function exitCode (command: string, args: string[], env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' })
    child.on('error', reject)
    child.on('exit', resolve)
  })
}

const probe = (host: string, port: string, path: string): Promise<number | null> =>
  exitCode('/bin/bash', ['-c', probeScript(), 'probe', host, port, path])

describe('the image\'s command line', () => {
  let cli: CliProcess
  let admin: URL
  let proxy: URL

  beforeAll(async () => {
    // ENTRYPOINT ["node", "/app/dist/cli.js"] is what runCli runs: node and dist/cli.js.
    expect(entrypoint[0]).toBe('node')
    expect(entrypoint[1]?.endsWith('/dist/cli.js')).toBe(true)
    expect(CLI.endsWith('/dist/cli.js')).toBe(true)
    cli = runCli(cmd, imageEnv())
    const urls = await cli.listening
    admin = new URL(urls.admin)
    proxy = new URL(urls.proxy)
  })
  afterAll(async () => {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    await cli.exited
  })

  it('starts sluice on the baked-in policies, on loopback', () => {
    expect(proxy.hostname).toBe('127.0.0.1')
    const listening = cli.stdout.map(l => JSON.parse(l) as Record<string, unknown>).find(l => l.msg === 'listening')
    expect(listening?.vendors).toEqual(expect.arrayContaining(['stripe']))
  })

  it('passes the HEALTHCHECK, which finds the admin port in SLUICE_ADMIN_PORT', async () => {
    expect(healthcheck[0]).toBe('node')
    expect(await exitCode(process.execPath, healthcheck.slice(1), { SLUICE_ADMIN_PORT: admin.port })).toBe(0)
  })

  it('passes the chart\'s in-container probes on /healthz and /readyz', async () => {
    expect(await probe('127.0.0.1', admin.port, '/healthz')).toBe(0)
    expect(await probe('127.0.0.1', admin.port, '/readyz')).toBe(0)
  })

  it('fails the chart\'s probe on an answer other than 200', async () => {
    expect(await probe('127.0.0.1', admin.port, '/no-such-path')).not.toBe(0)
  })

  it('drains and exits 0 on SIGTERM, as PID 1 in the container', async () => {
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    expect(cli.stdout.some(l => l.includes('"msg":"stopped"'))).toBe(true)
  })

  it('fails the HEALTHCHECK and the probe once sluice is gone', async () => {
    expect(await exitCode(process.execPath, healthcheck.slice(1), { SLUICE_ADMIN_PORT: admin.port })).not.toBe(0)
    expect(await probe('127.0.0.1', admin.port, '/healthz')).not.toBe(0)
  })
})

describe('`validate` in the image', () => {
  it('checks SLUICE_POLICIES when given no folder, as CI runs it', async () => {
    const run = runCli(['validate'], imageEnv())
    run.listening.catch(() => {}) // validate never listens
    expect(await run.exited).toBe(0)
    expect(run.stdout.join('\n')).toContain(': valid')
  })
})
