// limits.concurrency (SPEC section 4): at most that many calls in flight per
// vendor; the next one is answered 503 overloaded at once, without reaching
// the upstream, and a slow vendor never slows another on the same sluice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { eventually } from '../helpers/wait.js'

let slow: Upstream
let fast: Upstream
const held: Array<() => void> = []
let sluice: TestSluice

beforeAll(async () => {
  // Holds every answer until the test releases it.
  slow = await startUpstream((_req, res) => { held.push(() => res.end('slow done')) })
  fast = await startUpstream((_req, res) => { res.end('fast') })
  sluice = await startTestSluice({
    'slow.yaml': `vendor: slow\nupstream: ${slow.url}\nlimits:\n  concurrency: 2\n`,
    'fast.yaml': `vendor: fast\nupstream: ${fast.url}\nlimits:\n  concurrency: 2\n`,
  })
})
afterAll(async () => {
  for (const release of held.splice(0)) release()
  await sluice.stop()
  await slow.close()
  await fast.close()
})

describe('the bulkhead', () => {
  it('the third concurrent call to a saturated vendor gets 503 overloaded at once; another vendor is unaffected', async () => {
    const first = request(`${sluice.url}/slow/a`)
    const second = request(`${sluice.url}/slow/b`)
    await eventually(() => slow.seen.length === 2)

    const started = performance.now()
    const third = await request(`${sluice.url}/slow/c`, { headers: { 'x-request-id': 'third' } })
    expect(third.statusCode).toBe(503)
    expect(third.headers['x-sluice-error']).toBe('overloaded')
    expect(await third.body.json()).toMatchObject({ error: 'overloaded', vendor: 'slow', requestId: 'third' })
    expect(performance.now() - started).toBeLessThan(200)
    expect(slow.seen).toHaveLength(2)

    // The other vendor, more calls than its own limit in a row, all served while slow is full.
    for (let i = 0; i < 4; i++) {
      const r = await request(`${sluice.url}/fast/x`)
      expect(r.statusCode).toBe(200)
      expect(await r.body.text()).toBe('fast')
    }
    const both = await Promise.all([request(`${sluice.url}/fast/y`), request(`${sluice.url}/fast/z`)])
    for (const r of both) { expect(r.statusCode).toBe(200); await r.body.dump() }

    for (const release of held.splice(0)) release()
    for (const r of await Promise.all([first, second])) {
      expect(r.statusCode).toBe(200)
      expect(await r.body.text()).toBe('slow done')
    }
    await eventually(() => requestLines(sluice).filter(l => l.vendor === 'slow').length === 3)
    expect(requestLines(sluice).find(l => l.reqId === 'third')).toMatchObject({ status: 503, error: 'overloaded', attempts: 0 })
  })

  it('a slot comes back when a call ends: the next call is served', async () => {
    const pending = request(`${sluice.url}/slow/again`)
    await eventually(() => held.length === 1)
    for (const release of held.splice(0)) release()
    const r = await pending
    expect(r.statusCode).toBe(200)
    await r.body.dump()
  })

  it('a call refused overloaded takes no slot, and ended calls give theirs back', async () => {
    const a = request(`${sluice.url}/slow/1`)
    const b = request(`${sluice.url}/slow/2`)
    await eventually(() => held.length === 2)
    for (let i = 0; i < 5; i++) {
      const r = await request(`${sluice.url}/slow/n`)
      expect(r.headers['x-sluice-error']).toBe('overloaded')
      await r.body.dump()
    }
    for (const release of held.splice(0)) release()
    for (const r of await Promise.all([a, b])) await r.body.dump()
    // Both slots free again: two at once are both let through.
    const c = request(`${sluice.url}/slow/3`)
    const d = request(`${sluice.url}/slow/4`)
    await eventually(() => held.length === 2)
    for (const release of held.splice(0)) release()
    for (const r of await Promise.all([c, d])) expect(r.statusCode).toBe(200)
  })
})
