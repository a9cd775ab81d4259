// Risky but valid settings: one fixture per warning, each with the exact line
// `sluice validate` prints; the set still loads.
import { readdirSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatProblem, loadPolicies } from '../../src/policy/load.js'

const dir = relative(process.cwd(), fileURLToPath(new URL('./fixtures/warnings', import.meta.url)))

const cases: Record<string, string[]> = {
  'post-retried-twice.yaml': ['@/post-retried-twice.yaml:5:19: warning: retry.idempotentOnly is false and idempotency.generate has no POST: a POST without an idempotency-key header may be sent up to 3 times'],
  'bucket-never-refills.yaml': ['@/bucket-never-refills.yaml:7:15: warning: rateLimit.buckets[0] ("hourly"): one token takes 6m to refill (10/h), longer than a call may wait (2s): once empty, every queued call is refused as if onLimit were reject'],
  'max-wait-too-long.yaml': ['@/max-wait-too-long.yaml:11:16: warning: rateLimit.buckets[0].maxWait (30s) is longer than timeouts.total (10s): no call can wait past its deadline, so the wait is cut at 10s'],
  'allow-private.yaml': ['@/allow-private.yaml:4:17: warning: network.allowPrivate is true: api.acme.test may resolve to private, loopback or link-local addresses (a DNS answer could point sluice at an internal service)'],
  // POST retried, but each gets a generated idempotency key: nothing to warn about.
  'safe.yaml': [],
}

describe('policy warnings', () => {
  it.each(Object.entries(cases))('%s', async (name, expected) => {
    const { set, problems, warnings } = await loadPolicies(`${dir}/${name}`)
    expect(problems).toEqual([])
    expect(warnings.map(formatProblem)).toEqual(expected.map(line => line.replaceAll('@/', `${dir}/`)))
    expect(set?.vendors.length).toBe(1)
  })

  it('has a case for every fixture', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(cases).sort())
  })
})
