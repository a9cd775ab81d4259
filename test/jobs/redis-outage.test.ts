// Redis unreachable while jobs are pending: nothing is lost. The jobs wait,
// a new job is refused (503 jobs_unavailable, never a 202 for a job that was
// not stored), and once Redis answers again every pending job is delivered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { eventually, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

describe('Redis outage with jobs pending', () => {
  let redis: RedisHandle
  let up: Upstream
  let s: JobSluice
  let healthy = false
  let frozen = false

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream((_req, res) => {
      res.writeHead(healthy ? 200 : 503)
      res.end()
    })
    s = await startJobSluice({
      'acme.yaml': jobPolicy(up.url, {
        async: `
retry:
  attempts: 1000
  backoff: { initial: 100ms, max: 100ms, multiplier: 1, jitter: none }
claimTimeout: 1s
`,
      }),
    }, { SLUICE_REDIS_URL: redis.url })
  })
  afterAll(async () => {
    if (frozen) process.kill(redis.pid, 'SIGCONT')
    await s?.kill()
    await up?.close()
    await redis?.stop()
  })

  it('delivers every pending job once Redis is back', async () => {
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push((await submit(s.proxy, `/acme/v1/job/${i}`)).id)
    await eventually(() => ids.every(id => up.seen.some(r => r.headers['x-request-id'] === id)) ? true : undefined, 15_000, 'a first attempt of each job')

    process.kill(redis.pid, 'SIGSTOP')
    frozen = true
    await eventually(() => s.cli.stdout.some(l => l.includes('job store unreachable')) ? true : undefined, 15_000, 'sluice to notice the outage')
    const refused = await submit(s.proxy, '/acme/v1/during-outage')
    expect(refused.status).toBe(503)
    expect(refused.body.error).toBe('jobs_unavailable')

    healthy = true
    process.kill(redis.pid, 'SIGCONT')
    frozen = false
    for (const id of ids) {
      const done = await jobReaches(s.proxy, id, ['succeeded', 'failed', 'dead'], 30_000)
      expect(done.status).toBe('succeeded')
    }
    for (let i = 0; i < 10; i++) {
      const sent = up.seen.filter(r => r.url === `/v1/job/${i}`)
      expect(new Set(sent.map(r => r.headers['idempotency-key'])).size).toBe(1)
    }
    expect(up.seen.some(r => r.url === '/v1/during-outage')).toBe(false)
  }, 60_000)
})
