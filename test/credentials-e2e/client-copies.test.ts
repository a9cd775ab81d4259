// The client's own copies of what sluice injects never reach the vendor
// beside, or instead of, the injected ones (SPEC section 4, inject.strip):
// injected header names are dropped from the client's request in any case,
// a client's Connection header cannot remove an injected header, and a
// client query parameter with an injected name is replaced, not duplicated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type SeenRequest, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'

const KEY = 'garnet-finch-1184-loom'
const PARTNER = 'slate-ibis-6642-vane'
const QUERY_KEY = 'topaz-wren-2095-bell'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  process.env.E2E_STRIP_KEY = KEY
  process.env.E2E_STRIP_PARTNER = PARTNER
  process.env.E2E_STRIP_QUERY = QUERY_KEY
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({
    'acme.yaml': [
      'vendor: acme',
      `upstream: ${up.url}`,
      'inject:',
      '  headers:',
      '    Authorization: "Bearer ${env:E2E_STRIP_KEY}"',
      '    X-Partner-Key: "${env:E2E_STRIP_PARTNER}"',
      '  query:',
      '    api_key: "${env:E2E_STRIP_QUERY}"',
      '  strip: [x-client-session]',
      '',
    ].join('\n'),
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

/** Every value the upstream got for `name`, from its raw headers. */
function values (seen: SeenRequest, name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if (seen.rawHeaders[i]!.toLowerCase() === name) out.push(seen.rawHeaders[i + 1]!)
  }
  return out
}

describe('injected header names sent by the client', () => {
  it('are dropped whatever their case; only the injected values arrive', async () => {
    const res = await rawRequest(sluice.url, [
      'GET /acme/v1/me HTTP/1.1',
      'Host: localhost',
      'AUTHORIZATION: Bearer client-own-token',
      'authorization: Basic Y2xpZW50OnNlY3JldA==',
      'x-PARTNER-key: client-partner',
      'X-Client-Session: s-123',
      'X-Kept: yes',
      'Connection: close',
      '', '',
    ].join('\r\n'))
    expect(res.status).toBe(200)
    const seen = up.seen.at(-1)!
    expect(values(seen, 'authorization')).toEqual([`Bearer ${KEY}`])
    expect(values(seen, 'x-partner-key')).toEqual([PARTNER])
    expect(values(seen, 'x-client-session')).toEqual([])
    expect(values(seen, 'x-kept')).toEqual(['yes'])
  })
})

describe('a client Connection header naming injected headers', () => {
  it('cannot remove them: the injected ones are added after hop-by-hop filtering', async () => {
    const res = await rawRequest(sluice.url, [
      'GET /acme/v1/me HTTP/1.1',
      'Host: localhost',
      'Connection: close, Authorization, X-Partner-Key',
      'Authorization: Bearer client-own-token',
      '', '',
    ].join('\r\n'))
    expect(res.status).toBe(200)
    const seen = up.seen.at(-1)!
    expect(values(seen, 'authorization')).toEqual([`Bearer ${KEY}`])
    expect(values(seen, 'x-partner-key')).toEqual([PARTNER])
  })
})

describe('a client query parameter with an injected name', () => {
  it('is replaced by the injected one, not sent beside it', async () => {
    const res = await request(`${sluice.url}/acme/v1/items?api_key=client-own&page=2&api_key=again`)
    await res.body.dump()
    const url = new URL(up.seen.at(-1)!.url, 'http://x')
    expect(url.searchParams.getAll('api_key')).toEqual([QUERY_KEY])
    expect(url.searchParams.get('page')).toBe('2')
  })

  it('is replaced when the client percent-encodes its name', async () => {
    const res = await request(`${sluice.url}/acme/v1/items?api%5Fkey=client-own&q=1`)
    await res.body.dump()
    const url = new URL(up.seen.at(-1)!.url, 'http://x')
    expect(url.searchParams.getAll('api_key')).toEqual([QUERY_KEY])
    expect(url.search).toBe('?q=1&api_key=' + QUERY_KEY)
  })

  it('leaves parameters that only start like the injected name', async () => {
    const res = await request(`${sluice.url}/acme/v1/items?api_key_id=7&xapi_key=8`)
    await res.body.dump()
    const url = new URL(up.seen.at(-1)!.url, 'http://x')
    expect(url.search).toBe('?api_key_id=7&xapi_key=8&api_key=' + QUERY_KEY)
  })
})
