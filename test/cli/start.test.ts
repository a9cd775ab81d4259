// `sluice start` as a process (SPEC section 1): flags and SLUICE_* env, port 0
// and the listening line, refusal of an invalid policy set, SIGTERM drain.
import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'
import { startUpstream } from '../helpers/upstream.js'

const running: CliProcess[] = []
afterEach(() => {
  for (const p of running.splice(0)) p.child.kill('SIGKILL')
})
const run = (args: string[], env: Record<string, string> = {}): CliProcess => {
  const p = runCli(args, env)
  running.push(p)
  return p
}

/** `sluice start` on port 0 in front of an upstream answering "ok" to everything, as vendor v. */
async function startInFront (): Promise<{ p: CliProcess, proxy: string, up: Awaited<ReturnType<typeof startUpstream>> }> {
  const up = await startUpstream((_q, res) => res.end('ok'))
  const dir = await policyDir({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
  const p = run(['start', '--policies', dir, '--port', '0', '--admin-port', '0'])
  const { proxy } = await p.listening
  return { p, proxy, up }
}

describe('sluice start', () => {
  it('announces both listeners with full URLs when asked for port 0, and serves', async () => {
    const up = await startUpstream((_q, res) => res.end('hello'))
    const dir = await policyDir({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
    const p = run(['start', '--policies', dir, '--port', '0', '--admin-port', '0'])
    const { proxy, admin } = await p.listening
    expect(proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await (await request(`${proxy}/v/x`)).body.text()).toBe('hello')
    expect((await request(`${admin}/healthz`)).statusCode).toBe(200)
    await up.close()
  })

  it('takes its settings from SLUICE_* environment variables', async () => {
    const up = await startUpstream((_q, res) => res.end('env'))
    const dir = await policyDir({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
    const p = run(['start'], { SLUICE_POLICIES: dir, SLUICE_PORT: '0', SLUICE_ADMIN_PORT: '0', SLUICE_LOG_LEVEL: 'warn' })
    // the listening line is written even at warn level: it is how a caller learns the ports
    const { proxy } = await p.listening
    expect(await (await request(`${proxy}/v/x`)).body.text()).toBe('env')
    // ... and nothing else at info: all it wrote is read once it has exited and closed its output
    const closed = new Promise(resolve => p.child.on('close', resolve))
    p.child.kill('SIGTERM')
    await closed
    expect(p.stdout.filter(l => l.includes('"msg":"request"'))).toEqual([])
    await up.close()
  })

  it('refuses to listen with an invalid policy: exit 1, every problem as FILE:LINE:COL', async () => {
    const dir = await policyDir({
      'a.yaml': 'vendor: a\nupstream: http://127.0.0.1:1\ntimeouts:\n  read: 5 seconds\n',
      'b.yaml': 'vendor: b\nupstream: http://127.0.0.1:1\nretires: 3\n',
    })
    const p = run(['start', '--policies', dir, '--port', '0', '--admin-port', '0'])
    expect(await p.exited).toBe(1)
    const err = p.stderr()
    expect(err).toMatch(new RegExp(`${dir}/a\\.yaml:4:9: .*read`))
    expect(err).toMatch(new RegExp(`${dir}/b\\.yaml:3:1: unknown key "retires"`))
    expect(p.stdout.some(l => l.includes('"listening"'))).toBe(false)
  })

  it('rejects a bad flag value with a usage message', async () => {
    const p = run(['start', '--port', 'eighty'])
    expect(await p.exited).toBe(2)
    expect(p.stderr().split('\n')[0]).toBe('--port: "eighty" is not a port (0-65535)')
  })
})

describe('SIGTERM', () => {
  it('finishes the call in flight, refuses new ones with 503, turns /readyz 503, and exits 0', async () => {
    let release: () => void = () => {}
    const up = await startUpstream((req, res) => {
      if (req.url === '/slow') release = () => res.end('finished')
      else res.end('fast')
    })
    const dir = await policyDir({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
    const p = run(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], { SLUICE_DRAIN_TIMEOUT: '10s' })
    const { proxy, admin } = await p.listening
    const slow = request(`${proxy}/v/slow`)
    // a second connection, kept alive, to send a call during the drain
    const { Agent } = await import('undici')
    const agent = new Agent({ keepAliveTimeout: 30_000 })
    expect(await (await request(`${proxy}/v/fast`, { dispatcher: agent })).body.text()).toBe('fast')
    while (up.seen.length < 2) await new Promise(resolve => setTimeout(resolve, 10))

    p.child.kill('SIGTERM')
    // the drain has begun once /readyz says so, not after a guessed pause
    const end = Date.now() + 5000
    while ((await (await request(`${admin}/readyz`)).body.json() as { problems?: string[] }).problems?.includes('draining') !== true) {
      if (Date.now() > end) throw new Error('the drain never began')
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    const during = await request(`${proxy}/v/fast`, { dispatcher: agent })
    expect(during.statusCode).toBe(503)
    expect(during.headers['x-sluice-error']).toBe('draining')
    await during.body.dump()
    const ready = await request(`${admin}/readyz`)
    expect(ready.statusCode).toBe(503)
    expect(await ready.body.json()).toMatchObject({ problems: ['draining'] })

    release()
    const res = await slow
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('finished')
    expect(await p.exited).toBe(0)
    await agent.close()
    await up.close()
  })
})

describe('log batching', () => {
  it('writes a request line within a moment at low traffic, and every line before it exits', async () => {
    const { p, proxy, up } = await startInFront()
    const lines = (): string[] => p.stdout.filter(l => l.includes('"msg":"request"'))
    // one quiet call: its line is not held until a batch fills
    await (await request(`${proxy}/v/alone`)).body.dump()
    const end = Date.now() + 3000
    while (lines().length < 1 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 10))
    expect(lines()).toHaveLength(1)
    // a burst, then SIGTERM at once: every line is on stdout once the process has
    // exited (the 250 ms flush, the flush awaited on stop and the exit hook's
    // synchronous write each cover this; breaking any one alone does not lose a line)
    for (let i = 0; i < 30; i++) await (await request(`${proxy}/v/burst-${i}`)).body.dump()
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    expect(lines()).toHaveLength(31)
    expect(p.stdout.at(-1)).toContain('"msg":"stopped"')
    await up.close()
  })
})

describe('a stdout that goes away', () => {
  it('keeps serving, says so once on stderr, and drops the log lines', async () => {
    const { p, proxy, up } = await startInFront()
    p.child.stdout?.destroy() // the log collector died: sluice's next write gets EPIPE
    const call = async (): Promise<number> => {
      const res = await request(`${proxy}/v/x`)
      await res.body.dump()
      return res.statusCode
    }
    for (let i = 0; i < 5; i++) expect(await call()).toBe(200)
    await new Promise(resolve => setTimeout(resolve, 600)) // two flush periods: the lines are written, and fail
    for (let i = 0; i < 5; i++) expect(await call()).toBe(200)
    await new Promise(resolve => setTimeout(resolve, 600))
    expect(p.child.exitCode).toBeNull()
    expect(p.stderr().match(/log output failed \(EPIPE\)/g)).toHaveLength(1)
    await up.close()
  })
})

describe('--admin-host', () => {
  it('binds the admin listener apart from the proxy', async () => {
    const dir = await policyDir({ 'v.yaml': 'vendor: v\nupstream: http://127.0.0.1:9\n' })
    const p = run(['start', '--policies', dir, '--port', '0', '--admin-port', '0', '--admin-host', '0.0.0.0'])
    const { proxy, admin } = await p.listening
    expect(proxy).toMatch(/^http:\/\/127\.0\.0\.1:/)
    expect(admin).toMatch(/^http:\/\/0\.0\.0\.0:/)
  })
})
