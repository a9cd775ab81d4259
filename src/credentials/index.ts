// Credential injection (the policy's `inject`): what the rest of sluice imports.
// References are parsed by src/policy/secret-refs.ts, the one grammar.
import { parseTemplate } from '../policy/secret-refs.js'
import { resolveSecretRef } from './secret-source.js'

export { createCredentials } from './vendor-credentials.js'
export type { Injection, VendorCredentials } from './types.js'

/**
 * The value of one reference ("${env:NAME}" or "${file:/abs/path}") as it is
 * now, or undefined when it cannot be had (unset, empty, unreadable) or is not
 * a single reference. For `validate --resolve-secrets`; never print the value.
 */
export function resolveReference (ref: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const parsed = parseTemplate(ref)
  const only = parsed.refs[0]
  if (only === undefined || parsed.parts.length !== 1) return undefined
  return resolveSecretRef(only, env)
}
