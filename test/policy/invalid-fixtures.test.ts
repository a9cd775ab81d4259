// One fixture per mistake, each with the exact lines `sluice validate` prints.
// "@/" stands for the fixture folder, as the loader names it (relative to cwd).
import { readdirSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatProblem, loadPolicies } from '../../src/policy/load.js'

const dir = relative(process.cwd(), fileURLToPath(new URL('./fixtures/invalid', import.meta.url)))

const cases: Record<string, string[]> = {
  'unknown-key.yaml': ['@/unknown-key.yaml:3:1: unknown key "retires"'],
  'unknown-nested-key.yaml': ['@/unknown-nested-key.yaml:4:3: unknown key "conect" (did you mean "connect"?)'],
  'bad-duration.yaml': [
    '@/bad-duration.yaml:4:9: timeouts.read: "5 seconds" is not a duration (250ms, 5s, 2m, 1h, 1d)',
    '@/bad-duration.yaml:5:10: timeouts.total: 30 is not a duration (250ms, 5s, 2m, 1h, 1d)',
  ],
  'bad-rate.yaml': ['@/bad-rate.yaml:7:15: rateLimit.buckets[0].refill: "25 per second" is not a rate (25/s, 600/min, 5000/h, 100000/day)'],
  'missing-upstream.yaml': ['@/missing-upstream.yaml:2:1: missing required key "upstream"'],
  'missing-bucket-field.yaml': ['@/missing-bucket-field.yaml:5:7: rateLimit.buckets[0]: missing required key "capacity"'],
  'bad-vendor-name.yaml': ['@/bad-vendor-name.yaml:1:9: vendor: "Acme_Corp" is not a vendor name (lower-case letters, digits and -)'],
  'bad-prefix.yaml': ['@/bad-prefix.yaml:4:11: routes.prefix: "acme/" is not a path prefix (/name or /name/name)'],
  'bad-type.yaml': [
    '@/bad-type.yaml:4:16: limits.concurrency: expected an integer from 1 to 100000 (got "lots")',
    '@/bad-type.yaml:6:17: network.allowPrivate: expected true or false (got "no")',
    '@/bad-type.yaml:8:10: routes.hosts: expected a list (got "api.acme.test")',
  ],
  'bad-enum.yaml': [
    '@/bad-enum.yaml:4:9: rateLimit.mode: must be enforce or shadow (got "enforced")',
    '@/bad-enum.yaml:6:17: retry.on[1]: must be connect-error, timeout, reset or an integer from 400 to 599 (got 200)',
    '@/bad-enum.yaml:8:14: idempotency.generate[0]: must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (got "post")',
  ],
  'not-a-map.yaml': ['@/not-a-map.yaml:1:1: a policy file must be a map of fields (got a list)'],
  'empty.yaml': ['@/empty.yaml:1:1: empty policy file'],
  'yaml-syntax-error.yaml': ['@/yaml-syntax-error.yaml:5:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  'duplicate-key.yaml': ['@/duplicate-key.yaml:5:3: duplicate key "read"'],
  'unsupported-tag.yaml': ['@/unsupported-tag.yaml:2:11: unsupported YAML tag "!env"'],
  'upstream-not-url.yaml': ['@/upstream-not-url.yaml:2:11: upstream: "api.acme.test" is not an upstream URL (http(s)://host[:port][/base-path])'],
  'bad-upstream.yaml': ['@/bad-upstream.yaml:2:11: upstream: must not contain user:password@ (use inject for credentials)'],
  'malformed-secret-ref.yaml': [
    '@/malformed-secret-ref.yaml:5:20: inject.headers.Authorization: malformed ${env:...} reference: a variable name is letters, digits and _, not starting with a digit',
    '@/malformed-secret-ref.yaml:7:10: inject.query.key: unknown secret reference kind "vault" (use ${env:NAME} or ${file:/absolute/path})',
    '@/malformed-secret-ref.yaml:8:12: inject.query.token: malformed ${file:...} reference: the path must be absolute and name a file',
    '@/malformed-secret-ref.yaml:9:10: inject.query.sig: unterminated secret reference: "${" without "}" (use ${env:NAME} or ${file:/absolute/path})',
  ],
  // A schema problem elsewhere in the file does not hide a malformed reference.
  'secret-ref-beside-schema-error.yaml': [
    '@/secret-ref-beside-schema-error.yaml:4:10: timeouts.total: 5 is not a duration (250ms, 5s, 2m, 1h, 1d)',
    '@/secret-ref-beside-schema-error.yaml:7:20: inject.headers.Authorization: malformed ${env:...} reference: a variable name is letters, digits and _, not starting with a digit',
    '@/secret-ref-beside-schema-error.yaml:8:15: inject.headers.X-Tenant: malformed secret reference (use ${env:NAME} or ${file:/absolute/path})',
    '@/secret-ref-beside-schema-error.yaml:11:15: inject.oauth2.clientId: unterminated secret reference: "${" without "}" (use ${env:NAME} or ${file:/absolute/path})',
  ],
  'secret-in-bad-type.yaml': [
    '@/secret-in-bad-type.yaml:5:16: inject.headers.X-Api-Key: expected a string (got a number)',
    '@/secret-in-bad-type.yaml:6:5: inject.headers.Host: "Host" cannot be injected',
  ],
  'inject-conflicts.yaml': [
    '@/inject-conflicts.yaml:5:5: inject.headers.Host: "Host" cannot be injected',
    '@/inject-conflicts.yaml:7:5: inject.headers.x-key: header "x-key" is also set as "X-Key"',
  ],
  'oauth2-conflict.yaml': ['@/oauth2-conflict.yaml:5:20: inject.headers.Authorization is also set by inject.oauth2 (header Authorization)'],
  'bad-glob.yaml': ['@/bad-glob.yaml:6:27: routes.allow[0].paths[1]: "**" must be a whole path segment (/v1/**)'],
  'backoff-order.yaml': ['@/backoff-order.yaml:5:14: retry.backoff.initial (20s) is more than retry.backoff.max (5s)'],
  'read-longer-than-total.yaml': ['@/read-longer-than-total.yaml:4:9: timeouts.read (2m) is longer than timeouts.total (60s)'],
  'insane-values.yaml': [
    '@/insane-values.yaml:4:12: timeouts.connect: 0s is too short (at least 1ms)',
    '@/insane-values.yaml:5:10: timeouts.total: 30d is too long (at most 24d)',
    '@/insane-values.yaml:10:15: rateLimit.buckets[0].refill: must be more than 0',
    '@/insane-values.yaml:11:13: rateLimit.buckets[1].name: bucket name "a" is used twice',
    '@/insane-values.yaml:15:16: circuitBreaker.failureRate: 150% is not between 0% and 100%',
    '@/insane-values.yaml:17:10: routes.allow: an empty list allows nothing; leave allow out to allow everything',
  ],
  // Folders: rules across files, and the defaults file.
  'duplicate-vendor': ['@/duplicate-vendor/b.yaml:1:9: duplicate vendor "acme" (also in @/duplicate-vendor/a.yaml)'],
  'duplicate-prefix': ['@/duplicate-prefix/b.yaml:4:11: routes.prefix "/shared" is also the prefix of vendor "one" (@/duplicate-prefix/a.yaml)'],
  'nested-prefix': ['@/nested-prefix/b.yaml:4:11: routes.prefix "/outer/inner" is nested in the prefix "/outer" of vendor "outer" (@/nested-prefix/a.yaml)'],
  'duplicate-host': ['@/duplicate-host/b.yaml:4:25: host "api.shared.test" is also routed to vendor "one" (@/duplicate-host/a.yaml)'],
  'defaults-with-vendor': ['@/defaults-with-vendor/defaults.yaml:1:1: "vendor" belongs in a vendor file, not in the defaults file'],
  // One run reports everything: schema, field rules and rules across files, in file then line order.
  'one-pass': [
    '@/one-pass/a.yaml:2:11: upstream: "https://api.acme.test:99999" is not a valid URL: port 99999 is out of range (0-65535)',
    '@/one-pass/a.yaml:3:1: unknown key "retires"',
    '@/one-pass/a.yaml:5:16: circuitBreaker.failureRate: 110% is not between 0% and 100%',
    '@/one-pass/a.yaml:9:17: rateLimit.buckets[0].capacity: expected an integer (got "many")',
    '@/one-pass/a.yaml:13:15: rateLimit.buckets[1].refill: must be more than 0',
    '@/one-pass/a.yaml:16:16: inject.headers.X-Api-Key: malformed ${env:...} reference: a variable name is letters, digits and _, not starting with a digit',
    '@/one-pass/a.yaml:17:14: inject.headers.X-Other: malformed secret reference (use ${env:NAME} or ${file:/absolute/path})',
    '@/one-pass/b.yaml:1:9: duplicate vendor "acme" (also in @/one-pass/a.yaml)',
    '@/one-pass/b.yaml:4:16: limits.concurrency: expected an integer from 1 to 100000 (got "lots")',
    '@/one-pass/defaults.yaml:2:9: timeouts.read: "fast" is not a duration (250ms, 5s, 2m, 1h, 1d)',
    '@/one-pass/defaults.yaml:4:11: retry.budget: 2000% is more than 1000%',
  ],
  'defaults-in-conflict': ['@/defaults-in-conflict/defaults.yaml:3:10: timeouts.read (30s) is longer than timeouts.total (10s) (for vendor "one")'],
}

describe('invalid policy fixtures', () => {
  it.each(Object.entries(cases))('%s', async (name, expected) => {
    const { set, problems } = await loadPolicies(`${dir}/${name}`)
    expect(problems.map(formatProblem)).toEqual(expected.map(line => line.replaceAll('@/', `${dir}/`)))
    expect(set).toBeUndefined()
  })

  it('has a case for every fixture, and a fixture for every case', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(cases).sort())
  })
})
