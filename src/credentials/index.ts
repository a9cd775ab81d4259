// Credential injection (the policy's `inject`): what the rest of sluice imports.
import type { VendorPolicy } from '../policy/types.js'
import { resolveSecretRef } from './secret-source.js'
import { parseTemplate } from './template.js'

export { createCredentials, type CredentialsOptions } from './vendor-credentials.js'
export type { Injection, VendorCredentials } from './types.js'
export type { CredentialLogger } from './oauth2-token.js'
export { checkTemplate, parseTemplate, TemplateError, type SecretRef, type Template } from './template.js'

/**
 * The value of one reference ("${env:NAME}" or "${file:/abs/path}") as it is
 * now, or undefined when it cannot be had (unset, empty, unreadable) or is not
 * a single reference. For `validate --resolve-secrets`; never print the value.
 */
export function resolveReference (ref: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let parsed
  try {
    parsed = parseTemplate(ref)
  } catch {
    return undefined
  }
  const only = parsed.refs[0]
  if (only === undefined || parsed.parts.length !== 1) return undefined
  return resolveSecretRef(only, env)
}

/**
 * Every distinct reference a vendor's `inject` uses, as written
 * ("${env:NAME}"), in policy order. Throws TemplateError on a malformed one.
 */
export function vendorReferences (policy: VendorPolicy): string[] {
  const inject = policy.inject
  const templates = [...Object.values(inject.headers), ...Object.values(inject.query)]
  if (inject.oauth2 !== undefined) templates.push(inject.oauth2.clientId, inject.oauth2.clientSecret)
  const refs = new Set<string>()
  for (const t of templates) {
    for (const ref of parseTemplate(t).refs) refs.add(ref.text)
  }
  return [...refs]
}
