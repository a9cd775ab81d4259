// A request body over retry.maxBufferedBody streams to the vendor as it
// arrives and is never retried, key or not: nothing is kept to send again.
// One under the bound is kept and replayed byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { RESET, fastRetry, lineOf, startRawUpstream, type RawUpstream } from './helpers.js'
import { eventually } from '../helpers/wait.js'

const POLICY = fastRetry('  maxBufferedBody: 64kb\n') + 'limits:\n  body: 1mb\ncircuitBreaker:\n  enabled: false\n'

let reset: RawUpstream
let storm: Upstream
let sluice: TestSluice

beforeAll(async () => {
  reset = await startRawUpstream(RESET)
  storm = await startUpstream((_req, res) => { res.statusCode = 503; res.end('down') })
  sluice = await startTestSluice({
    'reset.yaml': `vendor: reset\nupstream: ${reset.url}\n${POLICY}`,
    'storm.yaml': `vendor: storm\nupstream: ${storm.url}\n${POLICY}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await reset.close()
  await storm.close()
})

describe('a body over retry.maxBufferedBody', () => {
  it('a keyed POST of 200 kB to a vendor that resets is sent once, whole: 502', async () => {
    reset.seen.length = 0
    const body = randomBytes(200 * 1024)
    const res = await request(`${sluice.url}/reset/upload`, { method: 'POST', body, headers: { 'idempotency-key': 'big-1', 'x-request-id': 'big-reset' } })
    expect(res.statusCode).toBe(502)
    expect(res.headers['x-sluice-error']).toBe('upstream_unreachable')
    await res.body.dump()
    expect(reset.seen).toHaveLength(1)
    expect(reset.seen[0]?.headers['idempotency-key']).toBe('big-1')
    expect(reset.seen[0]?.body.equals(body)).toBe(true)
    await eventually(() => lineOf(requestLines(sluice), 'big-reset') !== undefined)
    expect(lineOf(requestLines(sluice), 'big-reset')).toMatchObject({ attempts: 1, error: 'upstream_unreachable' })
  })

  it('a keyed PUT of 200 kB to a 503 storm is sent once; the 503 is relayed', async () => {
    storm.seen.length = 0
    const res = await request(`${sluice.url}/storm/upload`, { method: 'PUT', body: randomBytes(200 * 1024), headers: { 'idempotency-key': 'big-2' } })
    expect(res.statusCode).toBe(503)
    expect(res.headers['x-sluice-error']).toBeUndefined()
    expect(await res.body.text()).toBe('down')
    expect(storm.seen).toHaveLength(1)
    expect(storm.seen[0]?.body.length).toBe(200 * 1024)
  })

  it('a chunked body that outgrows the bound midway is sent once too', async () => {
    storm.seen.length = 0
    const parts = [randomBytes(40_000), randomBytes(40_000), randomBytes(40_000)]
    const res = await request(`${sluice.url}/storm/upload`, { method: 'PUT', body: Readable.from(parts) })
    expect(res.statusCode).toBe(503)
    await res.body.dump()
    expect(storm.seen).toHaveLength(1)
    expect(storm.seen[0]?.body.equals(Buffer.concat(parts))).toBe(true)
  })

  it('while a body under the bound is replayed on every attempt, byte for byte', async () => {
    storm.seen.length = 0
    const body = randomBytes(60 * 1024)
    const res = await request(`${sluice.url}/storm/upload`, { method: 'PUT', body })
    expect(res.statusCode).toBe(503)
    await res.body.dump()
    expect(storm.seen).toHaveLength(3)
    for (const s of storm.seen) expect(s.body.equals(body)).toBe(true)
  })

  it('and a chunked body that stays under the bound is replayed too', async () => {
    storm.seen.length = 0
    const parts = [randomBytes(10_000), randomBytes(10_000)]
    const res = await request(`${sluice.url}/storm/upload`, { method: 'PUT', body: Readable.from(parts) })
    await res.body.dump()
    expect(storm.seen).toHaveLength(3)
    for (const s of storm.seen) expect(s.body.equals(Buffer.concat(parts))).toBe(true)
  })
})
