// /metrics as Prometheus users expect it: the default process metrics
// unprefixed (process_*, nodejs_*), and sluice_redis_up only when Redis is
// configured, so a healthy replica on local buckets never fires a Redis alert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policyDir, runCli, startTestSluice, type CliProcess } from '../helpers/sluice.js'
import { metricsText as metricsOf } from '../helpers/metrics.js'
import { freePort } from '../helpers/wait.js'

describe('without Redis (the real process)', () => {
  let cli: CliProcess
  let admin: string

  beforeAll(async () => {
    const dir = await policyDir({ 'v.yaml': 'vendor: v\nupstream: http://127.0.0.1:9\n' })
    cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'])
    ;({ admin } = await cli.listening)
  })
  afterAll(async () => {
    cli.child.kill('SIGTERM')
    await cli.exited
  })

  it('exports the default process metrics unprefixed', async () => {
    const text = await metricsOf(admin)
    expect(text).toMatch(/^process_cpu_seconds_total /m)
    expect(text).toMatch(/^process_resident_memory_bytes /m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m)
    expect(text).not.toMatch(/^sluice_(process|nodejs)_/m)
  })

  it('exports no sluice_redis_up', async () => {
    const text = await metricsOf(admin)
    expect(text).toMatch(/^sluice_policy_reloads_total/m)
    expect(text).not.toContain('sluice_redis_up')
  })
})

describe('with Redis configured', () => {
  it('exports sluice_redis_up, 0 while Redis cannot be reached', async () => {
    const s = await startTestSluice({ 'v.yaml': 'vendor: v\nupstream: http://127.0.0.1:9\n' }, { env: { SLUICE_REDIS_URL: `redis://127.0.0.1:${await freePort()}` } })
    try {
      expect(await metricsOf(s.adminUrl)).toMatch(/^sluice_redis_up 0$/m)
    } finally {
      await s.stop()
    }
  })
})
