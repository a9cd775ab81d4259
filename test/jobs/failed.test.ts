// A final answer that async.retry does not retry (a 400) makes the job
// failed at once, with the vendor's answer kept for /result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { getJson, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

describe('a non-retryable answer', () => {
  let up: Upstream
  let s: JobSluice

  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end('{"error":"card declined"}')
    })
    s = await startJobSluice({ 'acme.yaml': jobPolicy(up.url) })
  })
  afterAll(async () => {
    await s?.kill()
    await up?.close()
  })

  it('fails the job after one attempt and keeps the answer', async () => {
    const a = await submit(s.proxy, '/acme/v1/charge')
    const done = await jobReaches(s.proxy, a.id, ['failed', 'dead', 'succeeded'])
    expect(done).toMatchObject({ status: 'failed', attempts: 1, error: 'status 400' })
    const result = await getJson(`${s.proxy}/_sluice/jobs/${a.id}/result`)
    expect(result.status).toBe(400)
    expect(result.body).toEqual({ error: 'card declined' })
    expect(result.headers['x-sluice-job-status']).toBe('failed')
    expect(up.seen).toHaveLength(1)
  })

  it('refuses at accept what could never be sent: a body over async.maxBody', async () => {
    const a = await submit(s.proxy, '/acme/v1/big', { body: 'x'.repeat(1024 * 1024 + 1) })
    expect(a.status).toBe(413)
    expect(a.body.error).toBe('payload_too_large')
  })
})
