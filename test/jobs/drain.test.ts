// SIGTERM: no job is taken any more, the attempt in hand finishes within the
// drain timeout and its outcome is kept; the jobs not yet taken stay for the
// next start. Nothing lost, nothing run twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policyDir } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { dataDir, eventually, jobPolicy, jobReaches, startJobSluice, submit, type JobSluice } from './harness.js'

describe('SIGTERM with a job in hand', () => {
  let up: Upstream
  let second: JobSluice | undefined
  let release: () => void = () => {}
  const held = new Promise<void>(resolve => { release = resolve })

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const answer = (): void => { res.end('ok') }
      if (req.url === '/v1/slow') held.then(answer, () => {})
      else answer()
    })
  })
  afterAll(async () => {
    release()
    await second?.kill()
    await up?.close()
  })

  it('finishes the running attempt, leaves the rest, and the next start delivers them', async () => {
    const data = await dataDir()
    // one job at a time, so the second one is still queued when SIGTERM comes
    const policies = await policyDir({ 'acme.yaml': jobPolicy(up.url, { extra: 'limits:\n  concurrency: 1' }) })
    const first = await startJobSluice(policies, { SLUICE_DATA_DIR: data })
    const slow = await submit(first.proxy, '/acme/v1/slow')
    await eventually(() => up.seen.length === 1 ? true : undefined, 15_000, 'the slow job to reach the vendor')
    const later = await submit(first.proxy, '/acme/v1/later')
    expect(later.status).toBe(202)

    first.cli.child.kill('SIGTERM')
    await eventually(() => first.cli.stdout.some(l => l.includes('"draining"')) ? true : undefined, 15_000, 'the drain to start')
    release()
    expect(await first.cli.exited).toBe(0)

    second = await startJobSluice(policies, { SLUICE_DATA_DIR: data })
    expect((await jobReaches(second.proxy, slow.id, ['succeeded', 'failed', 'dead'])).status).toBe('succeeded')
    expect((await jobReaches(second.proxy, later.id, ['succeeded', 'failed', 'dead'])).status).toBe('succeeded')
    expect(up.seen.filter(r => r.url === '/v1/slow')).toHaveLength(1)
    expect(up.seen.filter(r => r.url === '/v1/later')).toHaveLength(1)
  }, 60_000)
})
