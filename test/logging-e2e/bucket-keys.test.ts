// The request line carries each bucket's key value, hashed (`keys`), so that
// `sluice replay` can rebuild per-tenant buckets; never the raw value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { hashKeyValue } from '../../src/ratelimit/keys.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

const TENANT = 'tenant-key-sk_live_never_logged'
let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream()
  sluice = await startTestSluice({
    'v.yaml': `vendor: v\nupstream: ${up.url}\nrateLimit:\n  buckets:\n` +
      '    - { name: all, capacity: 100, refill: 100/s }\n' +
      '    - { name: tenant, capacity: 100, refill: 100/s, key: "header:x-tenant" }\n' +
      '    - { name: client, capacity: 100, refill: 100/s, key: ip }\n',
    'w.yaml': `vendor: w\nupstream: ${up.url}\n`,
  })
})

afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('request line keys', () => {
  it('names each bucket not keyed by vendor with its hashed key value', async () => {
    await (await request(`${sluice.url}/v/a`, { headers: { 'x-tenant': TENANT } })).body.text()
    await (await request(`${sluice.url}/v/b`)).body.text()
    await (await request(`${sluice.url}/w/c`)).body.text()
    await eventually(() => requestLines(sluice).length === 3)
    const byPath = new Map(requestLines(sluice).map(l => [l.path, l]))
    expect(byPath.get('/v/a')?.keys).toEqual({ tenant: hashKeyValue(TENANT), client: hashKeyValue('127.0.0.1') })
    expect(byPath.get('/v/b')?.keys).toEqual({ tenant: '-', client: hashKeyValue('127.0.0.1') })
    expect(byPath.get('/w/c')).not.toHaveProperty('keys')
    expect(sluice.logText()).not.toContain(TENANT)
  })
})
