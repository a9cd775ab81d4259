// Rules beyond the JSON Schema, one expectation per rule. The fixture tests pin
// the exact FILE:LINE:COL lines; these pin each rule's boundary.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPolicies } from '../../src/policy/load.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-rules-'))
let n = 0

/** The messages for a vendor file made of the base fields plus `yaml`. */
async function messages (yaml: string, upstream = 'https://api.acme.test'): Promise<string[]> {
  const file = join(dir, `p${n++}.yaml`)
  writeFileSync(file, `vendor: acme\nupstream: ${upstream}\n${yaml}`)
  return (await loadPolicies(file)).problems.map(p => p.message)
}

describe('upstream and token URLs', () => {
  it.each([
    ['https://api.acme.test', []],
    ['http://10.0.0.7:8080/base/', []],
    ['https://api.acme.test:99999', ['upstream: "https://api.acme.test:99999" is not a valid URL: port 99999 is out of range (0-65535)']],
    ['https://api.acme.test:8o8o/', ['upstream: "https://api.acme.test:8o8o/" is not a valid URL: port "8o8o" is not a number']],
    ['https://api<acme.test/', ['upstream: "https://api<acme.test/" is not a valid URL: the host name has a character a host name cannot have ("<")']],
    ['https://:pass@api.acme.test', ['upstream: must not contain user:password@ (use inject for credentials)']],
    ['https://api..acme.test', ['upstream: has no valid host name']],
    ['ftp://files.acme.test', ['upstream: "ftp://files.acme.test" is not an upstream URL (http(s)://host[:port][/base-path])']],
    ['https://api.acme.test/v1?key=1', ['upstream: "https://api.acme.test/v1?key=1" is not an upstream URL (http(s)://host[:port][/base-path])']],
  ])('%s', async (upstream, expected) => {
    expect(await messages('', upstream)).toEqual(expected)
  })

  it('checks oauth2.tokenUrl the same way, a query allowed', async () => {
    const oauth2 = (url: string): string => `inject:\n  oauth2:\n    tokenUrl: ${url}\n    clientId: "\${env:ID}"\n    clientSecret: "\${env:SECRET}"\n`
    expect(await messages(oauth2('https://auth.acme.test/token?tenant=1'))).toEqual([])
    expect(await messages(oauth2('https://id:secret@auth.acme.test/token'))).toEqual(['inject.oauth2.tokenUrl: must not contain user:password@ (use inject for credentials)'])
    expect(await messages(oauth2('https://auth.acme.test/token#x'))).toEqual(['inject.oauth2.tokenUrl: must not have a #fragment'])
  })
})

describe('ranges', () => {
  it('timeouts are at least 1ms and at most 24d', async () => {
    expect(await messages('timeouts:\n  connect: 1ms\n  total: 24d\n  read: 1s\n')).toEqual([])
    expect(await messages('timeouts:\n  read: 0ms\n')).toEqual(['timeouts.read: 0ms is too short (at least 1ms)'])
    expect(await messages('timeouts:\n  total: 25d\n')).toEqual(['timeouts.total: 25d is too long (at most 24d)'])
  })

  it('a failure rate is more than 0% and at most 100%', async () => {
    expect(await messages('circuitBreaker:\n  failureRate: 100%\n')).toEqual([])
    expect(await messages('circuitBreaker:\n  failureRate: 0%\n')).toEqual(['circuitBreaker.failureRate: 0% is not between 0% and 100%'])
    expect(await messages('circuitBreaker:\n  failureRate: 100.5%\n')).toEqual(['circuitBreaker.failureRate: 100.5% is not between 0% and 100%'])
  })

  it('a retry budget is at most 1000%', async () => {
    expect(await messages('retry:\n  budget: 0%\n')).toEqual([])
    expect(await messages('retry:\n  budget: 1000%\n')).toEqual([])
    expect(await messages('retry:\n  budget: 1001%\n')).toEqual(['retry.budget: 1001% is more than 1000%'])
  })

  it('buffered and logged bodies stay small', async () => {
    expect(await messages('retry:\n  maxBufferedBody: 100mb\nlogging:\n  maxBodyBytes: 1mb\n')).toEqual([])
    expect(await messages('retry:\n  maxBufferedBody: 101mb\n')).toEqual(['retry.maxBufferedBody: 101mb is too large (at most 100mb)'])
    expect(await messages('logging:\n  maxBodyBytes: 2mb\n')).toEqual(['logging.maxBodyBytes: 2mb is too large (at most 1mb)'])
  })

  it('a bucket refills, and may queue for no time at all', async () => {
    const bucket = (extra: string): string => `rateLimit:\n  buckets:\n    - name: b\n      capacity: 1\n${extra}`
    expect(await messages(bucket('      refill: 1/day\n      maxWait: 0s\n'))).toEqual([])
    expect(await messages(bucket('      refill: 0/min\n'))).toEqual(['rateLimit.buckets[0].refill: must be more than 0'])
  })
})

describe('routes', () => {
  it('a prefix has no dot segments', async () => {
    expect(await messages('routes:\n  prefix: /acme/../admin\n')).toEqual(['routes.prefix: must not contain "." or ".." segments'])
    expect(await messages('routes:\n  prefix: /acme.v2\n')).toEqual([])
  })

  it('a host name has no empty labels', async () => {
    expect(await messages('routes:\n  hosts: [api.acme.test, .acme.test]\n')).toEqual(['routes.hosts[1]: ".acme.test" is not a host name'])
  })

  it('a vendor listing a host twice is told so', async () => {
    expect(await messages('routes:\n  hosts: [api.acme.test, API.acme.test]\n')).toEqual(['routes.hosts lists "api.acme.test" twice'])
  })
})

describe('inject', () => {
  it('header names are HTTP tokens, and framing headers cannot be injected', async () => {
    expect(await messages('inject:\n  headers:\n    "Bad Header": x\n')).toEqual(['inject.headers.Bad Header: "Bad Header" is not an HTTP header name'])
    expect(await messages('inject:\n  headers:\n    Content-Length: "1"\n')).toEqual(['inject.headers.Content-Length: "Content-Length" cannot be injected'])
    expect(await messages('inject:\n  oauth2:\n    tokenUrl: https://a.test/t\n    clientId: a\n    clientSecret: b\n    header: Transfer-Encoding\n'))
      .toEqual(['inject.oauth2.header: "Transfer-Encoding" cannot be injected'])
  })

  it('an oauth2 header may not clash with a static one, whatever the case', async () => {
    expect(await messages('inject:\n  headers:\n    x-token: a\n  oauth2:\n    tokenUrl: https://a.test/t\n    clientId: a\n    clientSecret: b\n    header: X-Token\n'))
      .toEqual(['inject.headers.x-token is also set by inject.oauth2 (header X-Token)'])
  })

  it('a bad type in a credential field never echoes the value', async () => {
    const out = await messages('inject:\n  query:\n    key: [sk_live_abcdef]\n  headers:\n    X-Key: 4242424242424242\n')
    expect(out).toEqual(['inject.query.key: expected a string (got a list)', 'inject.headers.X-Key: expected a string (got a number)'])
    expect(out.join(' ')).not.toMatch(/sk_live|4242/)
  })
})

describe('unknown keys', () => {
  it('suggest a key that differs by case or a typo, not a far one', async () => {
    expect(await messages('RateLimit: {}\n')).toEqual(['unknown key "RateLimit" (did you mean "rateLimit"?)'])
    expect(await messages('timeouts:\n  totl: 5s\n')).toEqual(['unknown key "totl" (did you mean "total"?)'])
    expect(await messages('timeouts:\n  deadline: 5s\n')).toEqual(['unknown key "deadline"'])
  })

  it('the defaults file may not name a vendor or an upstream', async () => {
    const file = join(dir, 'defaults.yaml')
    writeFileSync(file, 'upstream: https://a.test\n')
    expect((await loadPolicies(file)).problems.map(p => p.message)).toEqual(['"upstream" belongs in a vendor file, not in the defaults file'])
  })
})

describe('YAML', () => {
  it('refuses more than one document in a file', async () => {
    expect(await messages('---\nvendor: other\n')).toEqual(['one YAML document per file: remove the "---" separator'])
  })

  it('refuses a list or map used as a key, without a process warning', async () => {
    const warnings: unknown[] = []
    const onWarning = (w: unknown): void => { warnings.push(w) }
    process.on('warning', onWarning)
    expect(await messages('? [a, b]\n: 1\n')).toEqual(['invalid YAML: a key must be a plain name, not a list or map'])
    await new Promise(resolve => setImmediate(resolve))
    process.off('warning', onWarning)
    expect(warnings).toEqual([])
  })
})

describe('bucket costs', () => {
  const bucket = (cost: string): string => `rateLimit:\n  buckets:\n    - name: tokens\n      capacity: 1000\n      refill: 1000/min\n      cost:\n${cost}`
  it('takes json, header and fixed estimates within the capacity', async () => {
    expect(await messages(bucket('        request: json:max_tokens\n        default: 1000\n        response: json:usage.total_tokens\n'))).toEqual([])
    expect(await messages(bucket('        request: header:x-cost\n        response: header:x-actual-cost\n'))).toEqual([])
    expect(await messages(bucket('        request: 1000\n'))).toEqual([])
  })
  it('refuses a fixed estimate or a default over the capacity: no call could be admitted', async () => {
    expect(await messages(bucket('        request: 1001\n'))).toEqual(["rateLimit.buckets[0].cost.request: a cost of 1001 is over the bucket's capacity of 1000: no call could be admitted"])
    expect(await messages(bucket('        default: 5000\n'))).toEqual(["rateLimit.buckets[0].cost.default: a cost of 5000 is over the bucket's capacity of 1000: no call without an estimate could be admitted"])
  })
  it('refuses a source that is neither json:<path> nor header:<name>', async () => {
    expect(await messages(bucket('        response: body:usage\n'))).toHaveLength(1)
    expect(await messages(bucket('        request: json:a..b\n'))).toHaveLength(1)
  })
})

describe('rateLimit.upstream.sync', () => {
  const policy = (upstream: string): string => `rateLimit:\n  buckets:\n    - name: requests\n      capacity: 10\n      refill: 10/min\n  upstream:\n${upstream}`
  it('names one of the vendor\'s buckets, and needs the remaining header it reads', async () => {
    expect(await messages(policy('    remainingHeader: x-ratelimit-remaining\n    sync: requests\n'))).toEqual([])
    expect(await messages(policy('    remainingHeader: x-ratelimit-remaining\n    sync: tokens\n'))).toEqual(['rateLimit.upstream.sync names no bucket of this vendor ("tokens")'])
    expect(await messages(policy('    sync: requests\n'))).toEqual(['rateLimit.upstream.sync needs rateLimit.upstream.remainingHeader: the header it reads'])
  })
})
