// One run reports everything, and only once: a field the schema refuses is
// left out of the later checks without their tripping over it, or reporting
// its stand-in default as a second problem.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatProblem, loadPolicies } from '../../src/policy/load.js'

async function problems (yaml: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-one-pass-'))
  writeFileSync(join(dir, 'v.yaml'), `vendor: v\nupstream: https://v.test\n${yaml}`)
  const r = await loadPolicies(dir)
  return [...r.problems, ...r.warnings].map(formatProblem).map(l => l.slice(dir.length + 1))
}

describe('validate in one pass', () => {
  it('does not report a refused field a second time through its default', async () => {
    expect(await problems('timeouts:\n  read: 5\n  total: 1s\n')).toEqual(['v.yaml:4:9: timeouts.read: 5 is not a duration (250ms, 5s, 2m, 1h, 1d)'])
  })

  it('still checks the rest of a file whose list item is refused', async () => {
    expect(await problems('rateLimit:\n  buckets:\n    - 5\n    - { name: b, capacity: 1, refill: 0/s }\n')).toEqual([
      'v.yaml:5:7: rateLimit.buckets[0]: expected a map (got 5)',
      'v.yaml:6:39: rateLimit.buckets[1].refill: must be more than 0',
    ])
  })

  it.each([
    'rateLimit: x', 'rateLimit:\n  buckets: x', 'inject: []', 'inject:\n  headers: 5', 'routes: 5',
    'routes:\n  allow:\n    - methods: 5\n      paths: ["/**", 7]', 'retry:\n  backoff: 5', 'circuitBreaker:\n  bodyRule: 5',
    'inject:\n  oauth2:\n    tokenUrl: 5', 'network: null', 'logging:\n  redact: 5', 'idempotency:\n  generate: 5',
  ])('never fails inside on %j', async (yaml) => {
    const found = await problems(`${yaml}\n`)
    expect(found.length).toBeGreaterThan(0)
    expect(found.join('\n')).not.toMatch(/internal error/)
  })
})
