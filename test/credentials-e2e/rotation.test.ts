// A ${file:} secret in a Kubernetes-style Secret volume, rotated while sluice
// runs (SPEC section 4): the kubelet writes a new version folder and swaps the
// `..data` symlink. Calls keep flowing across each swap, none fails, each
// carries a whole value (old or new, never a mix or nothing), and once a value
// is new no later call goes back to an older one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { k8sSecretDir } from '../credentials/k8s-secret.js'
import { expectNone, exposedText } from './leaks.js'
import { eventually } from '../helpers/wait.js'

const VERSIONS = ['rota-v1-iris-4410', 'rota-v2-kelp-5521', 'rota-v3-lime-6632', 'rota-v4-moss-7743']

let up: Upstream
let sluice: TestSluice
let secret: ReturnType<typeof k8sSecretDir>

beforeAll(async () => {
  secret = k8sSecretDir(await mkdtemp(join(tmpdir(), 'sluice-k8s-')))
  secret.publish({ 'api-key': VERSIONS[0] + '\n' })
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\ninject:\n  headers:\n    Authorization: "Bearer \${file:${join(secret.dir, 'api-key')}}"\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

/** Per worker, the version index each of its calls carried, in the order it made them. */
async function callsUntil (stop: () => boolean, concurrency: number): Promise<{ statuses: number[], versions: number[][] }> {
  const statuses: number[] = []
  const versions: number[][] = []
  let n = 0
  async function worker (mine: number[]): Promise<void> {
    while (!stop()) {
      const id = `rot-${n++}`
      const res = await request(`${sluice.url}/acme/v1/ping`, { headers: { 'x-request-id': id } })
      await res.body.dump()
      statuses.push(res.statusCode)
      const seen = up.seen.find(s => s.headers['x-request-id'] === id)
      mine.push(VERSIONS.findIndex(v => seen?.headers.authorization === `Bearer ${v}`))
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => {
    const mine: number[] = []
    versions.push(mine)
    return worker(mine)
  }))
  return { statuses, versions }
}

describe('a ${file:} secret rotated by a ..data symlink swap', () => {
  it('is picked up without a restart, and no call fails or carries a broken value across the swaps', async () => {
    let done = false
    const calls = callsUntil(() => done, 4)
    for (let v = 1; v < VERSIONS.length; v++) {
      await new Promise(resolve => setTimeout(resolve, 150))
      secret.publish({ 'api-key': VERSIONS[v] + '\n' })
      // The watch on the folder sees the swap; the once-a-second re-stat backs it up.
      await eventually(() => up.seen.at(-1)?.headers.authorization === `Bearer ${VERSIONS[v]}`, { timeout: 3000 })
    }
    await new Promise(resolve => setTimeout(resolve, 100))
    done = true
    const { statuses, versions } = await calls

    expect(statuses.length).toBeGreaterThan(20)
    expect(statuses.every(s => s === 200)).toBe(true)
    const all = versions.flat()
    expect(all.every(v => v >= 0)).toBe(true) // always one whole known value
    expect(new Set(all)).toEqual(new Set([0, 1, 2, 3]))
    // Each worker calls one after another: once it saw a newer value, never an older one.
    for (const mine of versions) {
      for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThanOrEqual(mine[i - 1]!)
    }
  })

  it('keeps every version, old and new, out of the log, /policies and /metrics', async () => {
    const text = await exposedText(sluice)
    expectNone(text, Object.fromEntries(VERSIONS.map((v, i) => [`version ${i + 1}`, v])))
    expect(text).toContain('credential reference reloaded')
  })
})
