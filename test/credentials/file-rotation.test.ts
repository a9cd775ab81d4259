// A Kubernetes Secret rotated by the kubelet's symlink swap reaches the vendor
// without a restart, and no call fails during the swap. The clock is frozen so
// the re-stat never runs: only the directory watch can notice the change.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCredentials, type Injection, type VendorCredentials } from '../../src/credentials/index.js'
import { recordingLogger, vendorPolicy } from './helpers.js'
import { k8sSecretDir } from './k8s-secret.js'
import { eventually } from '../helpers/wait.js'

let root: string
let creds: VendorCredentials | undefined
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'sluice-k8s-')) })
afterEach(() => {
  creds?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('a file secret rotated by a Kubernetes symlink swap', () => {
  it('is picked up by the directory watch, every call served meanwhile', async () => {
    const secret = k8sSecretDir(root)
    secret.publish({ key: 'key-v1\n', partner: 'p1\n' })
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({
      headers: { authorization: `Bearer \${file:${join(root, 'key')}}` },
      query: { partner: `\${file:${join(root, 'partner')}}` },
    }), { logger: rec.logger, now: () => 0 })

    const first = creds.get() as Injection
    expect(first.headers).toEqual([['authorization', 'Bearer key-v1']])
    expect(first.query).toBe('partner=p1')

    secret.publish({ key: 'key-v2\n', partner: 'p2\n' })
    const c = creds
    await eventually(() => {
      const inj = c.get() as Injection // throws, failing the test, if a call is refused mid-swap
      return inj.headers[0]?.[1] === 'Bearer key-v2' && inj.query === 'partner=p2'
    })
    expect(c.secrets()).toEqual(expect.arrayContaining(['key-v2', 'p2', 'key-v1', 'p1']))
    expect(rec.lines.filter(l => l.msg === 'credential reference reloaded')).toHaveLength(2)
    expect(rec.text()).not.toMatch(/key-v|p[12]\b/)
  })

  it('is picked up by the re-stat when no watch event arrives', async () => {
    // The secret's directory does not exist at start, so no watch can be set on
    // it; every later change is found by the once-a-second re-stat alone.
    const secretDir = join(root, 'mount')
    const clock = { t: 0 }
    const rec = recordingLogger()
    creds = createCredentials(vendorPolicy({ headers: { 'x-api-key': `\${file:${join(secretDir, 'key')}}` } }),
      { logger: rec.logger, now: () => clock.t })
    expect(() => creds?.get()).toThrow('is unavailable')

    const secret = k8sSecretDir(secretDir)
    secret.publish({ key: 'v1' })
    clock.t += 1000
    expect((creds.get() as Injection).headers).toEqual([['x-api-key', 'v1']])
  })
})
