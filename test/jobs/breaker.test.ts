// A vendor down for a while: its breaker opens, and an open breaker makes the
// jobs wait rather than fail. Once it is back every job is delivered, each
// with its one idempotency key on every attempt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { eventually, getJson, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

const JOBS = 20

describe('vendor down, breaker open, vendor back', () => {
  let up: Upstream
  let s: JobSluice
  let healthy = false

  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(healthy ? 200 : 503)
      res.end()
    })
    s = await startJobSluice({
      'acme.yaml': jobPolicy(up.url, {
        async: `
retry:
  attempts: 10
  backoff: { initial: 50ms, max: 100ms, multiplier: 2, jitter: none }
`,
        extra: `
circuitBreaker:
  failureRate: 50%
  minimumRequests: 4
  window: 10s
  openFor: 300ms
`,
      }),
    })
  })
  afterAll(async () => {
    await s?.kill()
    await up?.close()
  })

  it('delivers every job once the vendor is back', async () => {
    const ids: string[] = []
    for (let i = 0; i < JOBS; i++) {
      const a = await submit(s.proxy, `/acme/v1/pay/${i}`)
      expect(a.status).toBe(202)
      ids.push(a.id)
    }
    // the breaker opens on the failures
    await eventually(async () => /sluice_circuit_state\{vendor="acme"\} 2/.test((await getJson(`${s.admin}/metrics`)).text) ? true : undefined, 15_000, 'the breaker to open')
    // jobs refused by the open breaker wait: queued, not failed, not dead
    const waiting = await eventually(async () => {
      const jobs = (await getJson(`${s.admin}/jobs?vendor=acme`)).body.jobs as Array<{ status: string, error: string | null }>
      const open = jobs.filter(j => j.error === 'circuit_open' && j.status === 'queued')
      return open.length > 0 ? jobs : undefined
    }, 15_000, 'a job waiting on the open breaker')
    expect(waiting.filter(j => j.status === 'failed' || j.status === 'dead')).toEqual([])
    const seenWhileDown = up.seen.length
    healthy = true
    for (const id of ids) {
      const done = await jobReaches(s.proxy, id, ['succeeded', 'failed', 'dead'], 30_000)
      expect(done.status).toBe('succeeded')
    }
    expect(seenWhileDown).toBeLessThan(JOBS * 10)
    for (let i = 0; i < JOBS; i++) {
      const sent = up.seen.filter(r => r.url === `/v1/pay/${i}`)
      expect(sent.length).toBeGreaterThanOrEqual(1)
      expect(new Set(sent.map(r => r.headers['idempotency-key'])).size).toBe(1)
    }
    expect(new Set(up.seen.map(r => r.headers['idempotency-key'])).size).toBe(JOBS)
  }, 60_000)
})
