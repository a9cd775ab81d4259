// A call with Prefer: respond-async is answered 202 at once, delivered in the
// background with the job's idempotency key, and its result read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { getJson, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

describe('accept, deliver, result', () => {
  let up: Upstream
  let s: JobSluice
  let release: () => void
  const held = new Promise<void>(resolve => { release = resolve })

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      // The first job is held until the test has seen its 202 and its queued/running state.
      const go = (): void => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-vendor': 'yes' })
        res.end(JSON.stringify({ echoed: body.toString(), path: req.url }))
      }
      if (req.url?.startsWith('/v1/held') === true) held.then(go, () => {})
      else go()
    })
    s = await startJobSluice({ 'acme.yaml': jobPolicy(up.url) })
  })
  afterAll(async () => {
    await s?.kill()
    await up?.close()
  })

  it('answers 202 with the job, stores it, delivers it and keeps the answer', async () => {
    const a = await submit(s.proxy, '/acme/v1/held?x=1', { body: '{"amount":5}', headers: { 'idempotency-key': 'client-key-1' } })
    expect(a.status).toBe(202)
    expect(a.headers['preference-applied']).toBe('respond-async')
    expect(a.id).toMatch(/^job_[0-9a-f]{32}$/)
    expect(a.headers.location).toBe(`/_sluice/jobs/${a.id}`)
    expect(a.headers['x-sluice-job']).toBe(a.id)
    expect(a.body).toEqual({ job: a.id, status: 'queued' })

    const pending = await getJson(`${s.proxy}/_sluice/jobs/${a.id}/result`)
    expect(pending.status).toBe(202)
    expect(['queued', 'running']).toContain(pending.body.status)
    release()

    const done = await jobReaches(s.proxy, a.id, ['succeeded', 'failed', 'dead'])
    expect(done).toMatchObject({ job: a.id, vendor: 'acme', status: 'succeeded', attempts: 1, error: null })
    expect(typeof done.createdAt).toBe('string')

    const result = await getJson(`${s.proxy}/_sluice/jobs/${a.id}/result`)
    expect(result.status).toBe(201)
    expect(result.headers['x-vendor']).toBe('yes')
    expect(result.body).toEqual({ echoed: '{"amount":5}', path: '/v1/held?x=1' })

    const seen = up.seen.filter(r => r.url === '/v1/held?x=1')
    expect(seen).toHaveLength(1)
    expect(seen[0]?.headers['idempotency-key']).toBe('client-key-1')
    expect(seen[0]?.headers.prefer).toBeUndefined()
    expect(seen[0]?.method).toBe('POST')
  })

  it('generates an idempotency key when the client sent none', async () => {
    const a = await submit(s.proxy, '/acme/v1/plain')
    await jobReaches(s.proxy, a.id, ['succeeded'])
    const seen = up.seen.filter(r => r.url === '/v1/plain')
    expect(seen).toHaveLength(1)
    expect(String(seen[0]?.headers['idempotency-key'])).toMatch(/.{16,}/)
  })

  it('answers 404 for an unknown job', async () => {
    expect((await getJson(`${s.proxy}/_sluice/jobs/job_00000000000000000000000000000000`)).status).toBe(404)
    expect((await getJson(`${s.proxy}/_sluice/jobs/nonsense/result`)).status).toBe(404)
  })

  it('makes the call as usual without Prefer', async () => {
    const { request } = await import('undici')
    const res = await request(`${s.proxy}/acme/v1/sync`, { method: 'POST', body: 'x' })
    expect(res.statusCode).toBe(201)
    await res.body.dump()
  })
})
