// Policy changes while running (SPEC section 6): SIGHUP or a change in the
// folder reloads; a valid set is swapped atomically, an invalid one refused whole.
import { afterEach, describe, expect, it } from 'vitest'
import { writeFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { runCli, startTestSluice, type CliProcess, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function upstream (name: string, handler?: Parameters<typeof startUpstream>[0]): Promise<Upstream> {
  const u = await startUpstream(handler ?? ((req, res) => res.end(`${name} ${req.url}`)))
  cleanup.push(() => u.close())
  return u
}
async function sluiceWith (files: Record<string, string>): Promise<TestSluice> {
  const s = await startTestSluice(files)
  cleanup.push(() => s.stop())
  return s
}
const metric = async (s: TestSluice, re: RegExp): Promise<string | undefined> => re.exec(await (await request(`${s.adminUrl}/metrics`)).body.text())?.[1]

describe('reload', () => {
  it('swaps in a valid new set: new vendor served, removed one gone, counted as success', async () => {
    const a = await upstream('a')
    const b = await upstream('b')
    const s = await sluiceWith({ 'a.yaml': `vendor: a\nupstream: ${a.url}\n` })
    await writeFile(join(s.dir, 'b.yaml'), `vendor: b\nupstream: ${b.url}\n`)
    await rm(join(s.dir, 'a.yaml'))
    expect(await s.sluice.reload()).toBe(true)
    expect(await (await request(`${s.url}/b/x`)).body.text()).toBe('b /x')
    expect((await request(`${s.url}/a/x`)).statusCode).toBe(404)
    expect(await metric(s, /sluice_policy_reloads_total\{result="success"\} (\d+)/)).not.toBe('0')
  })

  it('refuses an invalid set whole: old policies stay, problems logged, failure counted', async () => {
    const a = await upstream('a')
    const s = await sluiceWith({ 'a.yaml': `vendor: a\nupstream: ${a.url}\n` })
    await writeFile(join(s.dir, 'a.yaml'), `vendor: a\nupstream: ${a.url}\ntimeouts:\n  read: soon\n`)
    await writeFile(join(s.dir, 'b.yaml'), 'vendor: b\nupstream: http://127.0.0.1:9\n')
    expect(await s.sluice.reload()).toBe(false)
    expect(await (await request(`${s.url}/a/still`)).body.text()).toBe('a /still')
    expect((await request(`${s.url}/b/x`)).statusCode).toBe(404)
    expect(await metric(s, /sluice_policy_reloads_total\{result="failure"\} (\d+)/)).toBe('1')
    const refused = s.logs.find(l => l.msg === 'policy reload refused: the previous policies stay in force')
    expect(refused?.problems).toEqual([expect.stringMatching(/a\.yaml:4:9: .*soon/)])
  })

  it('lets a call in flight finish under the policy it started with', async () => {
    let release: () => void = () => {}
    const old = await upstream('old', (req, res) => { release = () => res.end(`old ${req.url}`) })
    const neu = await upstream('new')
    const s = await sluiceWith({ 'v.yaml': `vendor: v\nupstream: ${old.url}\n` })
    const inFlight = request(`${s.url}/v/slow`)
    await eventually(() => old.seen.length === 1)
    await writeFile(join(s.dir, 'v.yaml'), `vendor: v\nupstream: ${neu.url}\n`)
    expect(await s.sluice.reload()).toBe(true)
    expect(await (await request(`${s.url}/v/fresh`)).body.text()).toBe('new /fresh')
    release()
    expect(await (await inFlight).body.text()).toBe('old /slow')
  })

  it('reloads by itself when a file in the policy folder changes', async () => {
    const a = await upstream('a')
    const b = await upstream('b')
    const s = await sluiceWith({ 'v.yaml': `vendor: v\nupstream: ${a.url}\n` })
    await writeFile(join(s.dir, 'v.yaml'), `vendor: v\nupstream: ${b.url}\n`)
    await eventually(() => s.logs.some(l => l.msg === 'policies reloaded'), { timeout: 5000 })
    expect(await (await request(`${s.url}/v/x`)).body.text()).toBe('b /x')
  })
})

describe('SIGHUP', () => {
  it('reloads the running process', async () => {
    const a = await upstream('a')
    const b = await upstream('b')
    const s = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${a.url}\n` }) // only for its folder
    await s.stop()
    const p: CliProcess = runCli(['start', '--policies', join(s.dir, 'v.yaml'), '--port', '0', '--admin-port', '0'])
    cleanup.push(() => { p.child.kill('SIGKILL') })
    const { proxy } = await p.listening
    expect(await (await request(`${proxy}/v/x`)).body.text()).toBe('a /x')
    // same content, written in place: the watcher may fire too; SIGHUP must work on its own
    await writeFile(join(s.dir, 'v.yaml'), `vendor: v\nupstream: ${b.url}\n`)
    p.child.kill('SIGHUP')
    await eventually(() => p.stdout.some(l => l.includes('"policies reloaded"')), { timeout: 5000 })
    expect(await (await request(`${proxy}/v/x`)).body.text()).toBe('b /x')
  })
})

describe('a reload that leaves a vendor unchanged', () => {
  it('keeps that vendor\'s live state (here: its open circuit breaker)', async () => {
    const failing = await upstream('f', (_req, res) => { res.statusCode = 500; res.end() })
    const other = await upstream('o')
    const s = await sluiceWith({
      'f.yaml': `vendor: f\nupstream: ${failing.url}\nretry:\n  attempts: 1\ncircuitBreaker:\n  minimumRequests: 2\n  failureRate: 50%\n  openFor: 1m\n`,
    })
    for (let i = 0; i < 3; i++) await (await request(`${s.url}/f/x`)).body.dump()
    expect((await request(`${s.url}/f/x`)).headers['x-sluice-error']).toBe('circuit_open')
    await writeFile(join(s.dir, 'o.yaml'), `vendor: o\nupstream: ${other.url}\n`)
    expect(await s.sluice.reload()).toBe(true)
    const res = await request(`${s.url}/f/x`)
    expect(res.headers['x-sluice-error']).toBe('circuit_open')
    await res.body.dump()
    expect(await (await request(`${s.url}/o/x`)).body.text()).toBe('o /x')
  })
})
