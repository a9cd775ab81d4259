// Secret references inside inject values: `${env:NAME}` and `${file:/abs/path}`.
// This module only reads their form; resolving them is src/credentials/'s job.
// Nothing here ever looks at an environment variable or a file.
/* eslint-disable no-template-curly-in-string -- these strings show the ${...} syntax itself */
import type { VendorPolicy } from './types.js'

export type SecretKind = 'env' | 'file'

export interface SecretRef {
  /** the reference as written: ${env:STRIPE_API_KEY} */
  ref: string
  kind: SecretKind
  /** the variable name or the absolute file path */
  name: string
  /** the field it sits in: inject.headers.authorization */
  where: string
}

export type TemplatePart = { literal: string } | { ref: string, kind: SecretKind, name: string }

const REF = /\$\{(env|file):([^}]*)\}/y
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// An absolute path, not the root itself, without control characters.
// eslint-disable-next-line no-control-regex
const FILE_PATH = /^\/[^\u0000-\u001f}]*[^/\u0000-\u001f}]$/

/**
 * Splits a template into literal text and references. Assumes a checked
 * template; anything malformed stays literal (and is masked as such).
 */
export function parseTemplate (template: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  let literal = ''
  let i = 0
  while (i < template.length) {
    const start = template.indexOf('${', i)
    if (start === -1) break
    REF.lastIndex = start
    const m = REF.exec(template)
    if (m === null || !isWellFormed(m[1] as SecretKind, m[2] as string)) {
      literal += template.slice(i, start + 2)
      i = start + 2
      continue
    }
    literal += template.slice(i, start)
    if (literal !== '') parts.push({ literal })
    literal = ''
    parts.push({ ref: m[0], kind: m[1] as SecretKind, name: m[2] as string })
    i = start + m[0].length
  }
  literal += template.slice(i)
  if (literal !== '') parts.push({ literal })
  return parts
}

function isWellFormed (kind: SecretKind, name: string): boolean {
  return kind === 'env' ? ENV_NAME.test(name) : FILE_PATH.test(name)
}

const HOW = 'use ${env:NAME} or ${file:/absolute/path}'

/**
 * What is wrong with the references in a template, one message each. Messages
 * quote only the reference itself, never the text around it.
 */
export function secretRefProblems (template: string): string[] {
  const problems: string[] = []
  let i = template.indexOf('${')
  while (i !== -1) {
    const close = template.indexOf('}', i)
    if (close === -1) {
      problems.push(`unterminated secret reference: "\${" without "}" (${HOW})`)
      break
    }
    const body = template.slice(i + 2, close)
    const colon = body.indexOf(':')
    const kind = colon === -1 ? body : body.slice(0, colon)
    const name = colon === -1 ? '' : body.slice(colon + 1)
    if (kind === 'env') {
      // The bad name is not repeated: it may be a value pasted in the wrong place.
      if (!ENV_NAME.test(name)) problems.push('malformed ${env:...} reference: a variable name is letters, digits and _, not starting with a digit')
    } else if (kind === 'file') {
      if (!FILE_PATH.test(name)) problems.push('malformed ${file:...} reference: the path must be absolute and name a file')
    } else if (/^[a-z]{1,10}$/.test(kind)) {
      problems.push(`unknown secret reference kind "${kind}" (${HOW})`)
    } else {
      // Whatever sits between the braces may be a pasted secret: do not repeat it.
      problems.push(`malformed secret reference (${HOW})`)
    }
    i = template.indexOf('${', close + 1)
  }
  return problems
}

// A leading auth scheme word is not a secret and tells the reader what the value is.
const SCHEME = /^(Bearer|Basic|Token|Bot|Digest|ApiKey)\s+/i

/**
 * A template as it may be shown: references kept, every other literal part
 * replaced by "***" ("Bearer ${env:KEY}" stays, "Bearer sk_live_x" -> "Bearer ***").
 */
export function maskTemplate (template: string): string {
  let out = ''
  let first = true
  for (const part of parseTemplate(template)) {
    if ('ref' in part) {
      out += part.ref
    } else {
      let text = part.literal
      const scheme = first ? SCHEME.exec(text) : null
      if (scheme !== null) {
        out += scheme[0]
        text = text.slice(scheme[0].length)
      }
      out += /^\s*$/.test(text) ? text : '***'
    }
    first = false
  }
  return out
}

/** Every secret reference a compiled policy holds, for credentials and `validate --resolve-secrets`. */
export function findSecretRefs (policy: VendorPolicy): SecretRef[] {
  return secretRefFields(policy).flatMap(({ path, template }) => {
    const where = path.join('.')
    return parseTemplate(template).flatMap(part => 'ref' in part ? [{ ref: part.ref, kind: part.kind, name: part.name, where }] : [])
  })
}

/** The fields that may hold references, with their paths (as the compiled policy names them). */
export function secretRefFields (policy: VendorPolicy): Array<{ path: string[], template: string }> {
  const { inject } = policy
  const fields: Array<{ path: string[], template: string }> = []
  for (const [name, template] of Object.entries(inject.headers)) fields.push({ path: ['inject', 'headers', name], template })
  for (const [name, template] of Object.entries(inject.query)) fields.push({ path: ['inject', 'query', name], template })
  if (inject.oauth2 !== undefined) {
    fields.push({ path: ['inject', 'oauth2', 'clientId'], template: inject.oauth2.clientId })
    fields.push({ path: ['inject', 'oauth2', 'clientSecret'], template: inject.oauth2.clientSecret })
  }
  for (const field of ['ca', 'cert', 'key'] as const) {
    const template = policy.tls[field]
    if (template !== undefined) fields.push({ path: ['tls', field], template })
  }
  return fields
}
