// The chart mounts the TLS material sluice reads from files: the vendor CA
// bundle (SLUICE_CA_FILE), client certificates for mTLS vendors (the files a
// policy names with ${file:...}) and the interception CA
// (SLUICE_INTERCEPT_CA_CERT, SLUICE_INTERCEPT_CA_KEY), each from its Secret,
// as a whole folder so that a rotated Secret reaches the pod.
import { describe, expect, it } from 'vitest'
import type { Values } from './chart.js'
import { CASES, envOf, renderCase, sluiceContainer, sluicePod } from './chart-cases.js'

interface Mount { name: string, mountPath: string, readOnly?: boolean, subPath?: string }

/** The Secret and the key inside it that a file path of the container comes from. */
function secretFileOf (docs: Values[], path: string): { secretName: string, key: string, mount: Mount } {
  const mounts = sluiceContainer(docs).volumeMounts as Mount[]
  const mount = mounts.find(m => path.startsWith(`${m.mountPath}/`))
  if (mount === undefined) throw new Error(`${path} is in no mounted volume`)
  const volume = (sluicePod(docs).volumes as Array<{ name: string, secret?: { secretName: string } }>).find(v => v.name === mount.name)
  if (volume?.secret === undefined) throw new Error(`${path}: volume ${mount.name} is not a Secret`)
  return { secretName: volume.secret.secretName, key: path.slice(mount.mountPath.length + 1), mount }
}

describe('standalone', () => {
  const docs = renderCase(CASES['tls mounts'] as (typeof CASES)[string])
  const env = envOf(sluiceContainer(docs))

  it('points SLUICE_CA_FILE at the CA bundle\'s key in its mounted Secret', () => {
    expect(env.SLUICE_CA_FILE).toBe('/var/run/secrets/sluice/ca/ca.crt')
    expect(secretFileOf(docs, env.SLUICE_CA_FILE as string)).toMatchObject({ secretName: 'corp-ca', key: 'ca.crt' })
  })

  it('mounts each client certificate Secret where a policy\'s ${file:...} finds tls.crt and tls.key', () => {
    expect(secretFileOf(docs, '/var/run/secrets/sluice/client/bank/tls.crt')).toMatchObject({ secretName: 'bank-mtls', key: 'tls.crt' })
    expect(secretFileOf(docs, '/var/run/secrets/sluice/client/bank/tls.key')).toMatchObject({ secretName: 'bank-mtls', key: 'tls.key' })
    expect(secretFileOf(docs, '/etc/ledger/tls.key')).toMatchObject({ secretName: 'ledger-mtls', key: 'tls.key' })
  })

  it('points SLUICE_INTERCEPT_CA_CERT and _KEY at the interception CA Secret\'s tls.crt and tls.key', () => {
    expect(secretFileOf(docs, env.SLUICE_INTERCEPT_CA_CERT as string)).toMatchObject({ secretName: 'sluice-intercept-ca', key: 'tls.crt' })
    expect(secretFileOf(docs, env.SLUICE_INTERCEPT_CA_KEY as string)).toMatchObject({ secretName: 'sluice-intercept-ca', key: 'tls.key' })
  })

  it('mounts them read-only and whole (a subPath mount never sees a rotated Secret)', () => {
    for (const m of sluiceContainer(docs).volumeMounts as Mount[]) {
      expect(m.readOnly, m.name).toBe(true)
      expect(m.subPath, m.name).toBeUndefined()
    }
  })
})

describe('in an app\'s pod', () => {
  it('mounts them into the sidecar, with the key the values name', () => {
    const docs = renderCase(CASES['tls mounts in the app chart'] as (typeof CASES)[string])
    const env = envOf(sluiceContainer(docs))
    expect(secretFileOf(docs, env.SLUICE_CA_FILE as string)).toMatchObject({ secretName: 'corp-ca', key: 'bundle.pem' })
    expect(secretFileOf(docs, env.SLUICE_INTERCEPT_CA_KEY as string).secretName).toBe('sluice-intercept-ca')
    // The app container is the app's own: the key stays out of it.
    const app = (sluicePod(docs).containers as Values[]).find(c => c.name !== 'sluice')
    expect(JSON.stringify(app)).not.toContain('intercept')
  })
})

describe('by default', () => {
  it('sets none of it', () => {
    const docs = renderCase(CASES['sidecar in the app chart'] as (typeof CASES)[string])
    const env = envOf(sluiceContainer(docs))
    for (const name of ['SLUICE_CA_FILE', 'SLUICE_INTERCEPT_CA_CERT', 'SLUICE_INTERCEPT_CA_KEY']) expect(env).not.toHaveProperty(name)
    expect((sluicePod(docs).volumes as Array<{ name: string }>).map(v => v.name).filter(n => /tls|client|intercept/.test(n))).toEqual([])
  })
})
