// proxy/headers: the vendor's response headers as the client gets them, with
// every vendor URL in Location, Content-Location and Link pointing back
// through sluice, hop-by-hop headers dropped and request ids kept apart.
import { describe, expect, it } from 'vitest'
import { upstreamHeadersForClient, type ResponseHeaderSink } from '../../src/proxy/headers.js'

const UPSTREAM = ['https://api.vendor.com:443/base', 'https://api.vendor.com/base']

function sink (injected?: string[]): ResponseHeaderSink {
  return {
    resContentType: undefined,
    resContentEncoding: undefined,
    rewriteTarget: () => 'http://127.0.0.1:8080/vendor',
    injectedQueryKeys: injected === undefined ? undefined : new Set(injected),
  }
}

function headers (raw: string[], s = sink()): Record<string, string> {
  const out = upstreamHeadersForClient(raw.map(h => Buffer.from(h, 'latin1')), 'ours', UPSTREAM, s)
  const map: Record<string, string> = {}
  for (let i = 0; i < out.length; i += 2) map[(out[i] as string).toLowerCase()] = out[i + 1] as string
  return map
}

describe('upstreamHeadersForClient', () => {
  it('rewrites Location, Content-Location and Link under the base path, whatever the port spelling', () => {
    const h = headers([
      'Location', 'https://api.vendor.com/base/v1/next?page=2',
      'Content-Location', 'https://api.vendor.com:443/base/v1/item',
      'Link', '<https://api.vendor.com/base/v1?page=3>; rel="next", <https://other.example/x>; rel="help"',
    ])
    expect(h.location).toBe('http://127.0.0.1:8080/vendor/v1/next?page=2')
    expect(h['content-location']).toBe('http://127.0.0.1:8080/vendor/v1/item')
    expect(h.link).toBe('<http://127.0.0.1:8080/vendor/v1?page=3>; rel="next", <https://other.example/x>; rel="help"')
  })

  it('leaves a URL outside the base path, or another host, alone', () => {
    expect(headers(['Location', 'https://api.vendor.com/baseline']).location).toBe('https://api.vendor.com/baseline')
    expect(headers(['Location', '/relative/path']).location).toBe('/relative/path')
  })

  it('drops an injected query parameter from a rewritten URL, so no secret goes back to the client', () => {
    const h = headers(['Location', 'https://api.vendor.com/base/v1?api_key=SECRET&page=2'], sink(['api_key']))
    expect(h.location).toBe('http://127.0.0.1:8080/vendor/v1?page=2')
  })

  it('drops hop-by-hop headers and those Connection names; keeps the vendor request id apart from ours', () => {
    const h = headers(['Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'X-Request-Id', 'theirs', 'X-Kept', 'yes'])
    expect(h.connection).toBeUndefined()
    expect(h['x-hop']).toBeUndefined()
    expect(h['keep-alive']).toBeUndefined()
    expect(h['x-upstream-request-id']).toBe('theirs')
    expect(h['x-request-id']).toBe('ours')
    expect(h['x-kept']).toBe('yes')
  })

  it('reports the content type and encoding to the sink', () => {
    const s = sink()
    headers(['Content-Type', 'application/json', 'Content-Encoding', 'gzip'], s)
    expect(s).toMatchObject({ resContentType: 'application/json', resContentEncoding: 'gzip' })
  })
})
