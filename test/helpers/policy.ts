// One factory for compiled policies in unit tests: a policy file as it would be
// written in YAML (`{ vendor, upstream, retry: { attempts: 1 } }`, units as
// strings), checked against the schema, given the built-in defaults and
// compiled by the same code the loader runs. Tests so get the real defaults and
// the real compiled shape (lower-cased header names, ms, bytes) instead of
// hand-kept copies that drift.
import { Value } from '@sinclair/typebox/value'
import { compilePolicy } from '../../src/policy/compile.js'
import { applyDefaults } from '../../src/policy/defaults.js'
import { PolicyFile, type PolicyFileInput } from '../../src/policy/schema.js'
import type { VendorPolicy } from '../../src/policy/types.js'

/** A policy file's fields, any of them left out; vendor and upstream default to acme. */
export type RawPolicy = Partial<PolicyFileInput>

export const TEST_VENDOR = 'acme'
export const TEST_UPSTREAM = 'https://api.acme.test'

export function vendorPolicy (raw: RawPolicy = {}): VendorPolicy {
  const file: PolicyFileInput = { vendor: TEST_VENDOR, upstream: TEST_UPSTREAM, ...raw }
  // The loader refuses what the schema refuses; a test policy that would not
  // load must not quietly compile into something no real sluice runs.
  const problem = Value.Errors(PolicyFile, file).First()
  if (problem !== undefined) throw new Error(`test policy does not match the schema: ${problem.path} ${problem.message}`)
  return compilePolicy(applyDefaults(file, undefined), `/policies/${file.vendor}.yaml`)
}
