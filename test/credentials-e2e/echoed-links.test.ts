// A vendor that echoes the request URL in a redirect or a pagination link
// would hand the injected query value to the application, since sluice
// rewrites such links to point back through itself. sluice drops its own
// injected parameters from the links it rewrites: the application never sees
// them, and following the link through sluice injects them again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

const KEY = 'echo-key/umber+7781'
const enc = encodeURIComponent(KEY)

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  process.env.E2E_ECHO_KEY = KEY
  up = await startUpstream((req, res) => {
    const self = `${up.url}${req.url ?? ''}`
    if (req.url?.startsWith('/v1/redirect') === true) {
      res.writeHead(302, { location: `${up.url}/v1/next?page=2&api_key=${enc}#top` })
    } else if (req.url?.startsWith('/v1/first') === true) {
      res.writeHead(302, { location: `${up.url}/v1/next?api_key=${enc}` })
    } else if (req.url?.startsWith('/v1/elsewhere') === true) {
      res.writeHead(302, { location: 'https://cdn.example.net/file?api_key=theirs&x=1' })
    } else {
      res.writeHead(200, {
        link: `<${up.url}/v1/items?api_key=${enc}&page=3>; rel="next", <${self}>; rel="self", <${up.url}/v1/items?page=1&api_key=${enc}>; rel="first"`,
      })
    }
    res.end()
  })
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\ninject:\n  query:\n    api_key: "\${env:E2E_ECHO_KEY}"\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function headersOf (path: string): Promise<Record<string, unknown>> {
  const res = await request(`${sluice.url}${path}`)
  await res.body.dump()
  return res.headers
}

describe('links to the vendor that echo the injected query parameter', () => {
  it('a Location keeps its other parameters and fragment, without the injected one', async () => {
    expect((await headersOf('/acme/v1/redirect')).location).toBe(`${sluice.url}/acme/v1/next?page=2#top`)
    expect((await headersOf('/acme/v1/first')).location).toBe(`${sluice.url}/acme/v1/next`)
  })

  it('every URL of a Link header loses the injected parameter, wherever it stood', async () => {
    const link = (await headersOf('/acme/v1/items?page=2&q=shoes')).link as string
    expect(link).toBe(`<${sluice.url}/acme/v1/items?page=3>; rel="next", <${sluice.url}/acme/v1/items?page=2&q=shoes>; rel="self", <${sluice.url}/acme/v1/items?page=1>; rel="first"`)
    expect(link).not.toContain(enc)
  })

  it('a link to another host is left as the vendor wrote it', async () => {
    expect((await headersOf('/acme/v1/elsewhere')).location).toBe('https://cdn.example.net/file?api_key=theirs&x=1')
  })

  it('following the cleaned link through sluice sends the injected value again', async () => {
    const location = (await headersOf('/acme/v1/redirect')).location as string
    const res = await request(location)
    await res.body.dump()
    expect(new URL(up.seen.at(-1)!.url, 'http://x').searchParams.get('api_key')).toBe(KEY)
  })
})
