// Credentials injected through a real sluice (SPEC section 4, inject): each
// source (${env:}, ${file:}) in each place (header, query), and a template
// mixing literal text with a reference. The upstream records what it got.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

// Values no scrubber pattern would catch on its own: only their injection makes them secret.
const ENV_HEADER = 'amber-otter-5521-kite'
const FILE_HEADER = 'cobalt-heron-7730-mast'
const ENV_QUERY = 'dune fig/9&8=7?'
const TEMPLATE_KEY = 'ember-lynx-3308-reef'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  process.env.E2E_ENV_HEADER = ENV_HEADER
  process.env.E2E_ENV_QUERY = ENV_QUERY
  process.env.E2E_TEMPLATE_KEY = TEMPLATE_KEY
  const secrets = await mkdtemp(join(tmpdir(), 'sluice-secret-'))
  await writeFile(join(secrets, 'partner'), FILE_HEADER + '\n')
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({
    'envh.yaml': `vendor: envh\nupstream: ${up.url}\ninject:\n  headers:\n    X-Api-Key: "\${env:E2E_ENV_HEADER}"\n`,
    'fileh.yaml': `vendor: fileh\nupstream: ${up.url}\ninject:\n  headers:\n    X-Partner-Key: "\${file:${join(secrets, 'partner')}}"\n`,
    'envq.yaml': `vendor: envq\nupstream: ${up.url}\ninject:\n  query:\n    api_key: "\${env:E2E_ENV_QUERY}"\n`,
    'tmpl.yaml': `vendor: tmpl\nupstream: ${up.url}\ninject:\n  headers:\n    Authorization: "Bearer \${env:E2E_TEMPLATE_KEY}"\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

async function call (path: string): Promise<void> {
  const res = await request(`${sluice.url}${path}`)
  expect(res.statusCode).toBe(200)
  await res.body.dump()
}

describe('${env:} in a header', () => {
  it('reaches the upstream as the header value', async () => {
    await call('/envh/v1/things')
    expect(up.seen.at(-1)!.headers['x-api-key']).toBe(ENV_HEADER)
  })
})

describe('${file:} in a header', () => {
  it('reaches the upstream as the file text, without its trailing newline', async () => {
    await call('/fileh/v1/things')
    expect(up.seen.at(-1)!.headers['x-partner-key']).toBe(FILE_HEADER)
  })
})

describe('${env:} in a query parameter', () => {
  it('is added percent-encoded, after the client\'s own parameters', async () => {
    await call('/envq/v1/things?limit=3&q=a+b')
    const url = new URL(up.seen.at(-1)!.url, 'http://x')
    expect(url.pathname).toBe('/v1/things')
    expect(url.search).toBe('?limit=3&q=a+b&api_key=' + encodeURIComponent(ENV_QUERY))
    expect(url.searchParams.get('api_key')).toBe(ENV_QUERY)
  })

  it('makes a query where the client sent none', async () => {
    await call('/envq/v1/things')
    expect(up.seen.at(-1)!.url).toBe('/v1/things?api_key=' + encodeURIComponent(ENV_QUERY))
  })
})

describe('a template mixing literal text and a reference', () => {
  it('renders "Bearer ${env:K}" as the literal followed by the value', async () => {
    await call('/tmpl/v1/things')
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${TEMPLATE_KEY}`)
  })
})
