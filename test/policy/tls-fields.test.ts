// The tls and http2 policy fields: defaults, compiled form, and the problems a
// policy file is refused for (a key without its certificate, PEM text written
// into the policy, a relative path).
import { describe, expect, it } from 'vitest'
import { loadPolicies, formatProblem } from '../../src/policy/load.js'
import { secretRefFields } from '../../src/policy/secret-refs.js'
import { policyDir } from '../helpers/sluice.js'
import { vendorPolicy } from '../helpers/policy.js'

async function problems (yaml: string): Promise<string[]> {
  const dir = await policyDir({ 'acme.yaml': `vendor: acme\nupstream: https://api.acme.test\n${yaml}` })
  return (await loadPolicies(dir)).problems.map(formatProblem)
}

describe('tls and http2', () => {
  it('default to Node\'s trust, TLS 1.2 at least, HTTP/1.1', () => {
    const p = vendorPolicy()
    expect(p.tls).toEqual({ ca: undefined, cert: undefined, key: undefined, servername: undefined, minVersion: 'TLSv1.2' })
    expect(p.http2).toBe(false)
  })

  it('compile as written, the servername lower-cased; the references are found for --resolve-secrets', () => {
    const p = vendorPolicy({ tls: { ca: '${file:/etc/ca.pem}', cert: '${file:/s/tls.crt}', key: '${file:/s/tls.key}', servername: 'API.Vendor.com', minVersion: 'TLSv1.3' }, http2: true })
    expect(p.tls).toEqual({ ca: '${file:/etc/ca.pem}', cert: '${file:/s/tls.crt}', key: '${file:/s/tls.key}', servername: 'api.vendor.com', minVersion: 'TLSv1.3' })
    expect(p.http2).toBe(true)
    expect(secretRefFields(p).map(f => f.path.join('.'))).toEqual(['tls.ca', 'tls.cert', 'tls.key'])
  })

  it('a certificate without its key is refused', async () => {
    expect((await problems('tls:\n  cert: "${file:/s/tls.crt}"\n')).join('\n')).toContain('tls.cert and tls.key go together')
  })

  it('PEM text in the policy is refused, and not repeated: only a reference may name it', async () => {
    const found = await problems('tls:\n  key: "-----BEGIN PRIVATE KEY----- MIGHAgEAMBMG"\n')
    expect(found).toHaveLength(1)
    expect(found[0]).toContain('tls.key: a string is not one secret reference')
    expect(found[0]).not.toContain('MIGHAgEAMBMG')
  })

  it('a relative file path is refused', async () => {
    expect((await problems('tls:\n  ca: "${file:ca.pem}"\n')).join('\n')).toContain('the path must be absolute')
  })
})
