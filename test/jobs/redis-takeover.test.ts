// With Redis, jobs live in a stream shared by every replica: one replica
// answers for another's job, and a job held by a replica killed mid-delivery
// is taken over by another after claimTimeout and finished there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { policyDir } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { eventually, getJson, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

describe('Redis: a replica dies holding a job', () => {
  let redis: RedisHandle
  let up: Upstream
  const replicas: JobSluice[] = []
  let answer = false

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream((_req, res) => {
      // The first delivery is never answered: its replica dies holding it.
      if (!answer) return
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('charged')
    })
  })
  afterAll(async () => {
    for (const r of replicas) await r.kill()
    await up?.close()
    await redis?.stop()
  })

  it('is finished by a second replica, with the same idempotency key', async () => {
    const policies = await policyDir({ 'acme.yaml': jobPolicy(up.url) })
    const env = { SLUICE_REDIS_URL: redis.url }
    const a = await startJobSluice(policies, env)
    replicas.push(a)
    const job = await submit(a.proxy, '/acme/v1/charge', { body: '{"amount":1}' })
    expect(job.status).toBe(202)
    await eventually(() => up.seen.length === 1 ? true : undefined, 15_000, 'the first delivery to reach the vendor')
    expect((await getJson(`${a.proxy}/_sluice/jobs/${job.id}`)).body.status).toBe('running')
    await a.kill()

    answer = true
    const b = await startJobSluice(policies, env)
    replicas.push(b)
    const done = await jobReaches(b.proxy, job.id, ['succeeded', 'failed', 'dead'])
    expect(done.status).toBe('succeeded')
    expect(up.seen).toHaveLength(2)
    expect(up.seen[1]?.headers['idempotency-key']).toBe(up.seen[0]?.headers['idempotency-key'])
    expect(up.seen[1]?.body.toString()).toBe('{"amount":1}')
    const result = await getJson(`${b.proxy}/_sluice/jobs/${job.id}/result`)
    expect(result.status).toBe(200)
    expect(result.text).toBe('charged')
  }, 60_000)
})
