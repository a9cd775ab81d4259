// Without Redis, jobs live in a journal under SLUICE_DATA_DIR, written to disk
// before the 202: a replica killed outright and started again resumes every
// pending job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policyDir } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { dataDir, eventually, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

describe('journal', () => {
  let up: Upstream
  let first: JobSluice | undefined
  let second: JobSluice | undefined
  let healthy = false

  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(healthy ? 200 : 503)
      res.end(healthy ? 'done' : 'not yet')
    })
  })
  afterAll(async () => {
    await first?.kill()
    await second?.kill()
    await up?.close()
  })

  it('resumes the pending jobs after kill -9 and a restart', async () => {
    const data = await dataDir()
    const policies = await policyDir({
      'acme.yaml': jobPolicy(up.url, {
        async: `
retry:
  attempts: 1000
  backoff: { initial: 100ms, max: 100ms, multiplier: 1, jitter: none }
`,
      }),
    })
    first = await startJobSluice(policies, { SLUICE_DATA_DIR: data })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await submit(first.proxy, `/acme/v1/job/${i}`)).id)
    // each has been tried at least once (and answered 503): they are pending, not new
    await eventually(() => ids.every(id => up.seen.some(r => r.headers['x-request-id'] === id)) ? true : undefined, 15_000, 'a first attempt of each job')
    await first.kill()

    healthy = true
    second = await startJobSluice(policies, { SLUICE_DATA_DIR: data })
    for (const id of ids) {
      const done = await jobReaches(second.proxy, id, ['succeeded', 'failed', 'dead'])
      expect(done.status).toBe('succeeded')
    }
    for (let i = 0; i < 5; i++) {
      const sent = up.seen.filter(r => r.url === `/v1/job/${i}`)
      expect(new Set(sent.map(r => r.headers['idempotency-key'])).size).toBe(1)
      expect(sent.filter(r => r.headers['x-request-id'] === ids[i]).length).toBe(sent.length)
    }
  }, 60_000)
})
