// While sluice drains, a new call is answered 503 draining, and its log line
// names the vendor it was meant for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice
let release: () => void = () => {}

beforeAll(async () => {
  up = await startUpstream((_req, res) => { release = () => res.end('finished') })
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  release()
  await up.close()
})

describe('draining', () => {
  it('answers 503 draining with the vendor on the body and the log line', async () => {
    const slow = request(`${sluice.url}/v/slow`)
    await eventually(() => up.seen.length === 1, { timeout: 5000 })
    const drained = sluice.sluice.drain()
    await eventually(() => sluice.sluice.runtime.draining, { timeout: 5000 })

    const res = await request(`${sluice.url}/v/fast`, { headers: { 'x-request-id': 'drain-1' } })
    expect(res.statusCode).toBe(503)
    expect(res.headers['x-sluice-error']).toBe('draining')
    expect(await res.body.json()).toMatchObject({ error: 'draining', vendor: 'v' })
    await eventually(() => requestLines(sluice).some(l => l.reqId === 'drain-1'))
    expect(requestLines(sluice).find(l => l.reqId === 'drain-1')).toMatchObject({ vendor: 'v', status: 503, error: 'draining' })

    release()
    expect((await slow).statusCode).toBe(200)
    await drained
  })
})
