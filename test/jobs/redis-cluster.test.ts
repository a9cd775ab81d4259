// Jobs on a Redis Cluster (SLUICE_REDIS_CLUSTER): a job's keys share one hash
// slot and a vendor's stream and sets another, so every command and script
// stays within one slot whatever node holds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { getJson, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

const VENDORS = ['acme', 'globex', 'initech']

describe('Redis Cluster', () => {
  let cluster: RedisClusterHandle
  let up: Upstream
  let s: JobSluice
  const tried = new Set<string>()

  beforeAll(async () => {
    cluster = await startRedisCluster(3)
    up = await startUpstream((req, res) => {
      // every job's first attempt fails: its retry goes through the delayed set
      const id = String(req.headers['x-request-id'])
      res.writeHead(tried.has(id) ? 200 : 503)
      tried.add(id)
      res.end()
    })
    const files = Object.fromEntries(VENDORS.map(v => [`${v}.yaml`, jobPolicy(up.url, { vendor: v })]))
    s = await startJobSluice(files, { SLUICE_REDIS_CLUSTER: cluster.nodes.join(',') })
  }, 60_000)
  afterAll(async () => {
    await s?.kill()
    await up?.close()
    await cluster?.stop()
  })

  it('accepts, retries and delivers jobs of vendors on different nodes', async () => {
    const ids: string[] = []
    for (const v of VENDORS) {
      for (let i = 0; i < 4; i++) {
        const a = await submit(s.proxy, `/${v}/v1/x/${i}`)
        expect(a.status).toBe(202)
        ids.push(a.id)
      }
    }
    for (const id of ids) expect((await jobReaches(s.proxy, id, ['succeeded', 'failed', 'dead'], 30_000)).status).toBe('succeeded')
    const listed = (await getJson(`${s.admin}/jobs?status=succeeded`)).body.jobs as unknown[]
    expect(listed).toHaveLength(ids.length)
  }, 60_000)
})
