// A job that runs out of attempts, or of age, is dead: kept with its last
// answer, listed by the admin API, and queued again from the CLI with the same
// idempotency key once the vendor is fixed.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { getJson, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

const execFileP = promisify(execFile)

async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, 'jobs', ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('dead letters', () => {
  let up: Upstream
  let s: JobSluice
  let healthy = false

  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' })
      res.end(healthy ? 'fine' : 'down')
    })
    s = await startJobSluice({
      'acme.yaml': jobPolicy(up.url, {
        async: `
retry:
  attempts: 3
  backoff: { initial: 50ms, max: 50ms, multiplier: 1, jitter: none }
claimTimeout: 1s
`,
      }),
      'aged.yaml': jobPolicy(up.url, {
        vendor: 'aged',
        async: `
maxAge: 1s
retry:
  attempts: 1000
  backoff: { initial: 100ms, max: 100ms, multiplier: 1, jitter: none }
`,
      }),
    })
  })
  afterAll(async () => {
    await s?.kill()
    await up?.close()
  })

  it('is dead after its attempts, with the last answer kept', async () => {
    const a = await submit(s.proxy, '/acme/v1/charge', { body: '{"n":1}' })
    const dead = await jobReaches(s.proxy, a.id, ['dead', 'succeeded', 'failed'])
    expect(dead.status).toBe('dead')
    expect(dead.attempts).toBe(3)
    expect(String(dead.error)).toContain('attempts exhausted')
    expect(up.seen.filter(r => r.headers['x-request-id'] === a.id)).toHaveLength(3)
    const result = await getJson(`${s.proxy}/_sluice/jobs/${a.id}/result`)
    expect(result.status).toBe(503)
    expect(result.text).toBe('down')

    const listed = await getJson(`${s.admin}/jobs?status=dead&vendor=acme`)
    expect((listed.body.jobs as Array<{ job: string }>).map(j => j.job)).toContain(a.id)
    const metrics = (await getJson(`${s.admin}/metrics`)).text
    expect(metrics).toMatch(/sluice_jobs_total\{vendor="acme",result="dead"\} [1-9]/)
    expect(metrics).toMatch(/sluice_job_age_seconds_count\{vendor="acme"\} [1-9]/)
    expect(metrics).toMatch(/sluice_jobs_pending\{vendor="acme"\} 0/)
  })

  it('is dead once maxAge passes, however many attempts are left', async () => {
    const a = await submit(s.proxy, '/aged/v1/charge')
    const dead = await jobReaches(s.proxy, a.id, ['dead', 'succeeded', 'failed'])
    expect(dead.status).toBe('dead')
    expect(String(dead.error)).toContain('maxAge passed')
    expect(Number(dead.attempts)).toBeLessThan(1000)
  })

  it('is queued again by `sluice jobs retry` and delivered with the same idempotency key', async () => {
    healthy = false
    const a = await submit(s.proxy, '/acme/v1/refund')
    await jobReaches(s.proxy, a.id, ['dead'])
    const keys = new Set(up.seen.filter(r => r.headers['x-request-id'] === a.id).map(r => r.headers['idempotency-key']))
    expect(keys.size).toBe(1)

    const listed = await cli('list', '--status', 'dead', '--admin', s.admin)
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain(`${a.id}\tacme\tdead\t3`)
    const shown = await cli('show', a.id, '--admin', s.admin)
    expect(shown.code).toBe(0)
    expect(JSON.parse(shown.stdout)).toMatchObject({ job: a.id, status: 'dead', method: 'POST', path: '/v1/refund' })

    healthy = true
    const retried = await cli('retry', a.id, '--admin', s.admin)
    expect(retried.code).toBe(0)
    expect(retried.stdout).toBe(`${a.id}\tqueued\n`)
    const done = await jobReaches(s.proxy, a.id, ['succeeded', 'dead', 'failed'])
    expect(done.status).toBe('succeeded')
    const sent = up.seen.filter(r => r.headers['x-request-id'] === a.id)
    expect(sent).toHaveLength(4)
    expect(new Set(sent.map(r => r.headers['idempotency-key'])).size).toBe(1)

    // a job that is not dead or failed is not retried; a dropped one is gone
    expect((await cli('retry', a.id, '--admin', s.admin)).code).toBe(1)
    expect((await cli('drop', a.id, '--admin', s.admin)).code).toBe(0)
    expect((await getJson(`${s.proxy}/_sluice/jobs/${a.id}`)).status).toBe(404)
    expect((await cli('show', a.id, '--admin', s.admin)).code).toBe(1)
  }, 90_000) // seven CLI processes, each a node start, on a loaded machine
})
