// proxy/target: which vendor a request target reaches, by absolute-form
// target, Host header or path prefix, without the pipeline around it.
import { describe, expect, it } from 'vitest'
import { TargetTable, hostName, isHostPort, type Routable } from '../../src/proxy/target.js'

interface V extends Routable { name: string }
const vendor = (name: string, prefix: string, hosts: string[] = []): V => ({ name, policy: { routes: { prefix, hosts } } })
const stripe = vendor('stripe', '/stripe', ['api.stripe.com'])
const deep = vendor('deep', '/ai/openai')
const table = new TargetTable([stripe, deep])

function routed (url: string, host?: string): [string, string, boolean] | undefined | null {
  const t = table.match(url, host)
  return t === undefined || t === null ? t : [t.vendor.name, t.rest, t.viaHost]
}

describe('TargetTable', () => {
  it('routes by the first path segment, keeping the rest and query below the prefix', () => {
    expect(routed('/stripe/v1/charges?limit=3')).toEqual(['stripe', '/v1/charges?limit=3', false])
    expect(routed('/stripe')).toEqual(['stripe', '', false])
    expect(routed('/stripe?x=1')).toEqual(['stripe', '?x=1', false])
    expect(routed('/striped/v1')).toBeUndefined()
  })

  it('routes a multi-segment prefix, only on a segment boundary', () => {
    expect(routed('/ai/openai/v1/chat')).toEqual(['deep', '/v1/chat', false])
    expect(routed('/ai/openai?x')).toEqual(['deep', '?x', false])
    expect(routed('/ai/openaix')).toBeUndefined()
  })

  it('routes by Host (any port, any case) before the prefix, passing the path unchanged', () => {
    expect(routed('/v1/charges', 'API.Stripe.com:8443')).toEqual(['stripe', '/v1/charges', true])
    expect(routed('/stripe/v1', 'other.example')).toEqual(['stripe', '/v1', false])
  })

  it('routes an absolute-form target by its authority; a malformed one is null', () => {
    expect(routed('http://api.stripe.com/v1/x?y')).toEqual(['stripe', '/v1/x?y', true])
    expect(routed('https://api.stripe.com')).toEqual(['stripe', '/', true])
    expect(routed('https://api.stripe.com?q=1')).toEqual(['stripe', '/?q=1', true])
    expect(routed('http://unknown.example/x')).toBeUndefined()
    expect(routed('ftp://api.stripe.com/x')).toBeNull()
    expect(routed('http://user@api.stripe.com/x')).toBeNull()
  })

  it('names a vendor by a CONNECT authority', () => {
    expect(table.vendorOfHost('api.stripe.com:443')?.name).toBe('stripe')
    expect(table.vendorOfHost('example.com:443')).toBeUndefined()
  })
})

describe('host[:port] helpers', () => {
  it('isHostPort takes one host and port and nothing else', () => {
    expect(['api.x.com', 'api.x.com:8080', '127.0.0.1', '[::1]:80'].every(isHostPort)).toBe(true)
    expect(['a b', 'u@h', 'h/p', 'h:port', ''].some(isHostPort)).toBe(false)
  })

  it('hostName drops the port and lower-cases', () => {
    expect(hostName('Api.Stripe.com:8080')).toBe('api.stripe.com')
    expect(hostName('[::1]:80')).toBe('[::1]')
  })
})
