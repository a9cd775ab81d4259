// The policies the chart ships, read the way a pod reads them: from a
// Kubernetes ConfigMap mount, whose files are symlinks through a `..data` link
// that the kubelet swaps atomically on every update.
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { formatProblem, loadPolicies, validatePath } from '../../src/policy/load.js'
import { runCli, type CliProcess } from '../helpers/sluice.js'
import { chartValues } from './chart.js'

const shipped = chartValues().examplePolicies as Record<string, string>
const made: string[] = []
afterAll(async () => {
  await Promise.all(made.map(dir => rm(dir, { recursive: true, force: true })))
})

/** A folder laid out like the kubelet's ConfigMap volume, and its update. */
async function configMapVolume (files: Record<string, string>): Promise<{ dir: string, update (next: Record<string, string>): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-configmap-'))
  made.push(dir)
  let version = 0
  let current: Record<string, string> = {}
  const update = async (next: Record<string, string>): Promise<void> => {
    const old = version
    const data = `..2026_11_24_00_00_0${++version}`
    await mkdir(join(dir, data))
    for (const [name, text] of Object.entries(next)) await writeFile(join(dir, data, name), text)
    await symlink(data, join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    for (const name of Object.keys(next)) if (!(name in current)) await symlink(join('..data', name), join(dir, name))
    for (const name of Object.keys(current)) if (!(name in next)) await unlink(join(dir, name))
    if (old > 0) await rm(join(dir, `..2026_11_24_00_00_0${old}`), { recursive: true })
    current = next
  }
  await update(files)
  return { dir, update }
}

describe('the example policies in values.yaml', () => {
  it('are valid by sluice\'s own loader', async () => {
    const { dir } = await configMapVolume(shipped)
    expect((await validatePath(dir)).map(formatProblem)).toEqual([])
  })

  it('give the Stripe example its prefix and its host for SDK routing', async () => {
    const { dir } = await configMapVolume(shipped)
    const { set } = await loadPolicies(dir)
    const stripe = set?.vendors.find(v => v.vendor === 'stripe')
    expect(stripe?.routes.prefix).toBe('/stripe')
    expect(stripe?.routes.hosts).toEqual(['api.stripe.com'])
  })
})

describe('a running sluice on a ConfigMap mount', () => {
  let cli: CliProcess | undefined
  afterEach(async () => {
    cli?.child.kill('SIGKILL')
    await cli?.exited
    cli = undefined
  })

  it('reloads when the ConfigMap changes, so no rollout is needed', async () => {
    const volume = await configMapVolume(shipped)
    cli = runCli(['start'], { SLUICE_POLICIES: volume.dir, SLUICE_PORT: '0', SLUICE_ADMIN_PORT: '0' })
    const { admin } = await cli.listening
    const vendors = async (): Promise<string[]> => {
      const res = await request(`${admin}/policies`)
      const body = await res.body.json() as { vendors: Array<{ vendor: string }> }
      return body.vendors.map(v => v.vendor).sort()
    }
    expect(await vendors()).toEqual(['stripe'])

    await volume.update({ ...shipped, 'example.yaml': 'vendor: example\nupstream: https://api.example.com\n' })
    const deadline = Date.now() + 5000
    let seen = await vendors()
    while (seen.length < 2 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50))
      seen = await vendors()
    }
    expect(seen).toEqual(['example', 'stripe'])
  })
})
