// A query parameter that sluice injects is a credential whatever its name: a
// client that still sends its own value for it (an app not yet migrated to
// sluice) does not get that value logged, even when the name is not one of
// the built-in redacted query keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  process.env.E2E_AUTH_PARAM = 'injected-auth-param-value-9'
  up = await startUpstream((_req, res) => { res.end('ok') })
  sluice = await startTestSluice({
    'acme.yaml': `vendor: acme\nupstream: ${up.url}\ninject:\n  query:\n    hapikey: "\${env:E2E_AUTH_PARAM}"\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('the client\'s own value of an injected query parameter', () => {
  it('is masked in the logged path', async () => {
    const res = await request(`${sluice.url}/acme/v1/contacts?hapikey=app-held-old-key-77&limit=5`)
    await res.body.dump()
    await eventually(() => requestLines(sluice).length === 1)
    expect(requestLines(sluice)[0]!.path).toBe('/acme/v1/contacts?hapikey=[REDACTED]&limit=5')
    expect(sluice.logText()).not.toContain('app-held-old-key-77')
    expect(new URL(up.seen[0]!.url, 'http://x').searchParams.getAll('hapikey')).toEqual(['injected-auth-param-value-9'])
  })
})
