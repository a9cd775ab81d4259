// x-sluice-callback: the final state is POSTed to an allow-listed host,
// signed per Standard Webhooks (checked with the independent `standardwebhooks`
// package) and retried until taken; any other host is refused with 400 before
// the job is accepted.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Webhook } from 'standardwebhooks'
import { startUpstream, type Upstream, type SeenRequest } from '../helpers/upstream.js'
import { eventually, getJson, jobPolicy, startJobSluice, submit, type JobSluice } from './harness.js'

const SECRET = 'whsec_' + randomBytes(24).toString('base64')

describe('callbacks', () => {
  let vendor: Upstream
  let app: Upstream
  let s: JobSluice
  let refuseFirst = true

  beforeAll(async () => {
    vendor = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"id":"ch_1"}')
    })
    app = await startUpstream((_req, res) => {
      // The first delivery is refused: the callback must come again.
      res.writeHead(refuseFirst ? 500 : 204)
      refuseFirst = false
      res.end()
    })
    s = await startJobSluice({
      'acme.yaml': jobPolicy(vendor.url, {
        async: `
retry:
  attempts: 5
  backoff: { initial: 50ms, max: 50ms, multiplier: 1, jitter: none }
callbacks:
  hosts: [127.0.0.1]
  secret: "\${env:SLUICE_CALLBACK_SECRET}"
`,
      }),
    }, { SLUICE_CALLBACK_SECRET: SECRET })
  })
  afterAll(async () => {
    await s?.kill()
    await vendor?.close()
    await app?.close()
  })

  it('posts the final job with its result, signed, until the application takes it', async () => {
    const a = await submit(s.proxy, '/acme/v1/charge', { headers: { 'x-sluice-callback': `${app.url}/hooks/sluice?x=1` } })
    expect(a.status).toBe(202)
    const calls = await eventually(() => app.seen.length >= 2 ? app.seen : undefined, 15_000, 'two callback deliveries')
    const last = calls[1] as SeenRequest
    expect(last.method).toBe('POST')
    expect(last.url).toBe('/hooks/sluice?x=1')
    const headers = {
      'webhook-id': String(last.headers['webhook-id']),
      'webhook-timestamp': String(last.headers['webhook-timestamp']),
      'webhook-signature': String(last.headers['webhook-signature']),
    }
    const payload = new Webhook(SECRET).verify(last.body.toString(), headers) as Record<string, unknown>
    expect(payload).toMatchObject({ job: a.id, vendor: 'acme', status: 'succeeded', attempts: 1 })
    expect(payload.result).toMatchObject({ status: 200, body: '{"id":"ch_1"}' })
    // the same message both times: a receiver can drop the repeat by its id
    expect(calls[0]?.headers['webhook-id']).toBe(headers['webhook-id'])
    // a tampered body does not verify
    expect(() => new Webhook(SECRET).verify(last.body.toString().replace('succeeded', 'failed'), headers)).toThrow()
  })

  it('refuses a callback host not on the list with 400, and accepts no job', async () => {
    const before = (await getJson(`${s.admin}/jobs`)).body.jobs as unknown[]
    const a = await submit(s.proxy, '/acme/v1/charge', { headers: { 'x-sluice-callback': 'http://evil.example/hook' } })
    expect(a.status).toBe(400)
    expect(a.body.error).toBe('bad_request')
    expect(a.headers['x-sluice-error']).toBe('bad_request')
    const after = (await getJson(`${s.admin}/jobs`)).body.jobs as unknown[]
    expect(after.length).toBe(before.length)
  })

  it('never shows the callback secret in the effective policy', async () => {
    const policies = await getJson(`${s.admin}/policies`)
    expect(policies.text).not.toContain(SECRET)
    expect(policies.text).not.toContain(SECRET.slice(6))
    expect(JSON.stringify((policies.body.vendors as Array<{ async: unknown }>)[0]?.async)).toContain('${env:SLUICE_CALLBACK_SECRET}')
  })
})
