// 1,000 jobs accepted by three replicas sharing Redis: each delivered, none
// sent twice at the same time, the count exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { policyDir } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { eventually, getJson, jobPolicy, startJobSluice, submit, type JobSluice } from './harness.js'

const JOBS = 1000

describe('Redis: 1,000 jobs, three replicas', () => {
  let redis: RedisHandle
  let up: Upstream
  const replicas: JobSluice[] = []
  const inFlight = new Map<string, number>()
  const sent = new Map<string, number>()
  let overlaps = 0

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream((req, res) => {
      const key = String(req.headers['idempotency-key'])
      const now = (inFlight.get(key) ?? 0) + 1
      if (now > 1) overlaps++
      inFlight.set(key, now)
      sent.set(key, (sent.get(key) ?? 0) + 1)
      // held a moment, so a second copy of the same job in flight would meet this one
      setTimeout(() => {
        inFlight.set(key, (inFlight.get(key) ?? 1) - 1)
        res.end('ok')
      }, 5)
    })
    const policies = await policyDir({ 'acme.yaml': jobPolicy(up.url) })
    for (let i = 0; i < 3; i++) replicas.push(await startJobSluice(policies, { SLUICE_REDIS_URL: redis.url }))
  }, 60_000)
  afterAll(async () => {
    for (const r of replicas) await r.kill()
    await up?.close()
    await redis?.stop()
  })

  it('delivers each exactly once', async () => {
    const ids: string[] = []
    let next = 0
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < JOBS) {
        const i = next++
        const a = await submit((replicas[i % 3] as JobSluice).proxy, `/acme/v1/item/${i}`, { headers: { 'idempotency-key': `k-${i}` } })
        expect(a.status).toBe(202)
        ids.push(a.id)
      }
    }))
    expect(new Set(ids).size).toBe(JOBS)
    await eventually(async () => {
      const jobs = (await getJson(`${replicas[0]?.admin as string}/jobs?status=succeeded&limit=5000`)).body.jobs as unknown[]
      return jobs.length === JOBS ? true : undefined
    }, 90_000, `${JOBS} jobs succeeded`)
    expect(sent.size).toBe(JOBS)
    expect([...sent.values()].every(n => n === 1)).toBe(true)
    expect(overlaps).toBe(0)
    expect(up.seen).toHaveLength(JOBS)
  }, 120_000)
})
