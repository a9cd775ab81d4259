// The policies shipped in policies/ are documentation that must keep working.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { explainPolicy } from '../../src/policy/explain.js'
import { formatProblem, loadPolicies } from '../../src/policy/load.js'
import { schemaFiles } from '../../src/policy/print-schema.js'

const policies = new URL('../../policies/', import.meta.url)
const schema = new URL('../../schema/', import.meta.url)

describe('example policies', () => {
  it('load with no problems', async () => {
    const { set, problems } = await loadPolicies('policies')
    expect(problems.map(formatProblem)).toEqual([])
    expect(set?.vendors.map(v => v.vendor).sort()).toEqual(['github', 'github-graphql', 'openai', 'slack', 'stripe'])
  })

  it('each name their JSON Schema for editors on the first line', () => {
    for (const name of readdirSync(policies).filter(n => n.endsWith('.yaml'))) {
      const first = readFileSync(new URL(name, policies), 'utf8').split('\n')[0]
      const target = name === 'defaults.yaml' ? 'defaults.schema.json' : 'policy.schema.json'
      expect(first, name).toBe(`# yaml-language-server: $schema=../schema/${target}`)
    }
  })

  it('say what the README promises for each vendor', async () => {
    const { set } = await loadPolicies('policies')
    const byName = Object.fromEntries((set?.vendors ?? []).map(v => [v.vendor, v]))
    expect(byName.stripe).toMatchObject({ origin: 'https://api.stripe.com', routes: { prefix: '/stripe', hosts: ['api.stripe.com'] } })
    expect([...(byName.stripe?.idempotency.generate ?? [])]).toEqual(['POST'])
    expect(byName.stripe?.rateLimit.buckets[0]).toMatchObject({ name: 'burst', capacity: 100, refillPerMs: 0.025 })
    expect(explainPolicy(byName.stripe!)).toMatchObject({ inject: { headers: { authorization: 'Bearer ${env:STRIPE_API_KEY}' } } })
    expect(byName.openai).toMatchObject({ basePath: '/v1', timeouts: { readMs: 120_000, totalMs: 300_000 } })
    expect(byName.github?.rateLimit).toMatchObject({
      buckets: [{ refill: '5000/h' }],
      upstream: { remainingHeader: 'x-ratelimit-remaining', resetHeader: 'x-ratelimit-reset' },
    })
    // Costs: OpenAI tokens settled from usage.total_tokens (streams included), GitHub GraphQL points.
    expect(byName.openai?.rateLimit).toMatchObject({
      headers: true,
      buckets: [
        { name: 'requests', cost: undefined },
        { name: 'tokens', capacity: 30000, cost: { request: { kind: 'json', path: ['max_tokens'] }, default: 1000, response: { kind: 'json', path: ['usage', 'total_tokens'] } } },
      ],
      upstream: { remainingHeader: 'x-ratelimit-remaining-requests', sync: 'requests' },
    })
    expect(byName['github-graphql']?.rateLimit).toMatchObject({
      buckets: [{ name: 'points', capacity: 5000, cost: { request: { kind: 'constant', value: 1 }, response: { kind: 'json', path: ['data', 'rateLimit', 'cost'] } } }],
      upstream: { sync: 'points' },
    })
    expect(byName.slack).toMatchObject({ basePath: '/api', circuitBreaker: { bodyRule: { path: ['ok'], equals: false } } })
  })
})

describe('schema/*.schema.json', () => {
  it('equal what src/policy/print-schema.ts generates (regenerate: node dist/policy/print-schema.js schema)', () => {
    for (const [name, text] of Object.entries(schemaFiles())) {
      expect(readFileSync(new URL(name, schema), 'utf8'), name).toBe(text)
    }
  })
})
