// A chunked body that breaks at the parser while its call is queued for a
// rate-limit token: the client is answered 400 at once, and the call is never
// forwarded when its token comes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { requestLines, startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'
import { eventually } from '../helpers/wait.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream()
  sluice = await startTestSluice({
    'v.yaml': `vendor: v
upstream: ${up.url}
rateLimit:
  buckets:
    - name: one
      capacity: 1
      refill: 2/s
      onLimit: queue
      maxWait: 10s
`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

describe('a broken chunked body while its call is queued', () => {
  it('is answered 400 at once and never forwarded', async () => {
    expect((await request(`${sluice.url}/v/first`)).statusCode).toBe(200) // takes the only token
    const res = await rawRequest(sluice.url, 'POST /v/queued HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nx-request-id: queued-1\r\n\r\n3\r\nabc\r\nzz\r\n')
    expect(res.status).toBe(400)
    expect(res.headers['x-sluice-error']).toBe('bad_request')
    // the line is written once the call is over, after its token came
    await eventually(() => requestLines(sluice).some(l => l.reqId === 'queued-1'), { timeout: 10_000 })
    expect(requestLines(sluice).find(l => l.reqId === 'queued-1')).toMatchObject({ status: 400, error: 'bad_request', vendor: 'v' })
    expect(up.seen.map(r => r.url)).toEqual(['/first'])
  })
})
