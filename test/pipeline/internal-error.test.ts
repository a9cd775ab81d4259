// A defect in sluice is answered 500 internal: its message and stack go to the
// log at error (scrubbed), never to the client. The defect is planted in the
// live runtime of a real sluice; the call is made over a real socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream()
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('a defect in sluice', () => {
  it('is answered 500 internal, its stack logged at error and never shown', async () => {
    const targets = sluice.sluice.runtime.current.targets
    const match = targets.match.bind(targets)
    targets.match = () => { throw new TypeError('cannot read properties of undefined (card 4111 1111 1111 1111)') }
    let res
    try {
      res = await request(`${sluice.url}/v/x`, { headers: { 'x-request-id': 'defect-1' } })
    } finally {
      targets.match = match
    }
    expect(res.statusCode).toBe(500)
    expect(res.headers['x-sluice-error']).toBe('internal')
    const text = await res.body.text()
    expect(JSON.parse(text)).toMatchObject({ error: 'internal', requestId: 'defect-1' })
    expect(text).not.toMatch(/cannot read|TypeError|at |4111/)

    await eventually(() => requestLines(sluice).some(l => l.reqId === 'defect-1'))
    expect(requestLines(sluice).find(l => l.reqId === 'defect-1')).toMatchObject({ status: 500, error: 'internal' })
    const line = sluice.logs.find(l => l.level === 'error' && l.reqId === 'defect-1') as { defect: { type: string, message: string, stack: string } } | undefined
    expect(line?.defect.type).toBe('TypeError')
    expect(line?.defect.stack).toMatch(/\n\s+at /)
    expect(sluice.logText()).not.toContain('4111 1111 1111 1111')
    // the next call is served as usual
    expect((await request(`${sluice.url}/v/x`)).statusCode).toBe(200)
  })

  it('after the answer (in the call\'s last stage) is logged at error, and the next call is served', async () => {
    const vendor = sluice.sluice.runtime.current.byName.get('v')
    if (vendor === undefined) throw new Error('no vendor v')
    const metrics = vendor.metrics
    const count = metrics.request.bind(metrics)
    metrics.request = () => { throw new TypeError('a defect after the answer') }
    let res
    try {
      res = await request(`${sluice.url}/v/x`, { headers: { 'x-request-id': 'defect-2' } })
      await res.body.text()
      await eventually(() => sluice.logs.some(l => l.level === 'error' && l.reqId === 'defect-2'))
    } finally {
      metrics.request = count
    }
    expect(res.statusCode).toBe(200)
    const line = sluice.logs.find(l => l.level === 'error' && l.reqId === 'defect-2') as { defect: { type: string } } | undefined
    expect(line?.defect.type).toBe('TypeError')
    expect(sluice.sluice.runtime.inFlight).toBe(0)
    expect((await request(`${sluice.url}/v/x`)).statusCode).toBe(200)
  })
})
