// Secret references inside inject values: `${env:NAME}` and `${file:/abs/path}`,
// mixed freely with literal text ("Bearer ${env:STRIPE_API_KEY}"). This is the
// one parser of that grammar: `validate` reports a template's problems, and
// compile stores the parsed template that credentials render, so the two can
// never disagree. Nothing here looks at an environment variable or a file;
// resolving references is src/credentials/'s job.
import type { VendorPolicy } from './types.js'

export type SecretRef =
  | { readonly kind: 'env', readonly name: string, readonly text: string }
  | { readonly kind: 'file', readonly path: string, readonly text: string }

/** A template parsed once per policy load; rendering it only concatenates. */
export interface Template {
  /** literal strings and references, in order */
  readonly parts: ReadonlyArray<string | SecretRef>
  /** the references it holds, in order of appearance, duplicates included */
  readonly refs: readonly SecretRef[]
  /**
   * What is wrong with its references, one message each; empty when well
   * formed. A malformed reference stays literal text in `parts`.
   */
  readonly problems: readonly string[]
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// An absolute path, not the root itself, without control characters.
// eslint-disable-next-line no-control-regex
const FILE_PATH = /^\/[^\u0000-\u001f}]*[^/\u0000-\u001f}]$/
const HOW = 'use ${env:NAME} or ${file:/absolute/path}'

/**
 * Splits a template into literal text and references, and says what is wrong
 * with each malformed one. Messages quote only the reference's kind, never the
 * text around it or inside it: a malformed template may hold a pasted secret.
 */
export function parseTemplate (template: string): Template {
  const parts: Array<string | SecretRef> = []
  const refs: SecretRef[] = []
  const problems: string[] = []
  let literal = ''
  let from = 0
  for (;;) {
    const open = template.indexOf('${', from)
    if (open === -1) break
    const close = template.indexOf('}', open + 2)
    if (close === -1) {
      problems.push(`unterminated secret reference: "\${" without "}" (${HOW})`)
      break
    }
    const ref = reference(template.slice(open + 2, close), problems)
    if (ref === undefined) {
      literal += template.slice(from, close + 1)
    } else {
      literal += template.slice(from, open)
      if (literal !== '') parts.push(literal)
      literal = ''
      parts.push(ref)
      refs.push(ref)
    }
    from = close + 1
  }
  literal += template.slice(from)
  if (literal !== '') parts.push(literal)
  return { parts, refs, problems }
}

function reference (body: string, problems: string[]): SecretRef | undefined {
  const colon = body.indexOf(':')
  const kind = colon === -1 ? body : body.slice(0, colon)
  const arg = colon === -1 ? '' : body.slice(colon + 1)
  if (kind === 'env') {
    if (ENV_NAME.test(arg)) return { kind, name: arg, text: `\${env:${arg}}` }
    // The bad name is not repeated: it may be a value pasted in the wrong place.
    problems.push('malformed ${env:...} reference: a variable name is letters, digits and _, not starting with a digit')
  } else if (kind === 'file') {
    if (FILE_PATH.test(arg)) return { kind, path: arg, text: `\${file:${arg}}` }
    problems.push('malformed ${file:...} reference: the path must be absolute and name a file')
  } else if (/^[a-z]{1,10}$/.test(kind)) {
    problems.push(`unknown secret reference kind "${kind}" (${HOW})`)
  } else {
    // Whatever sits between the braces may be a pasted secret: do not repeat it.
    problems.push(`malformed secret reference (${HOW})`)
  }
  return undefined
}

/** What is wrong with the references in a template, one message each (for `validate`). */
export function secretRefProblems (template: string): readonly string[] {
  return parseTemplate(template).problems
}

/**
 * Renders a parsed template with a lookup for each reference; undefined as soon
 * as one reference has no value. Runs when a value changes, not per call.
 */
export function renderTemplate (template: Template, lookup: (ref: SecretRef) => string | undefined): string | undefined {
  let out = ''
  for (const part of template.parts) {
    if (typeof part === 'string') {
      out += part
      continue
    }
    const value = lookup(part)
    if (value === undefined) return undefined
    out += value
  }
  return out
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
  for (const part of parseTemplate(template).parts) {
    if (typeof part !== 'string') {
      out += part.text
    } else {
      let text = part
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

/** The parsed templates of a compiled policy with their field paths, in policy order. */
export function secretRefFields (policy: VendorPolicy): Array<{ path: string[], template: Template }> {
  const { headers, query, oauth2 } = policy.inject.templates
  const fields: Array<{ path: string[], template: Template }> = []
  for (const [name, template] of headers) fields.push({ path: ['inject', 'headers', name], template })
  for (const [name, template] of query) fields.push({ path: ['inject', 'query', name], template })
  if (oauth2 !== undefined) {
    fields.push({ path: ['inject', 'oauth2', 'clientId'], template: oauth2.clientId })
    fields.push({ path: ['inject', 'oauth2', 'clientSecret'], template: oauth2.clientSecret })
  }
  for (const field of ['ca', 'cert', 'key'] as const) {
    const template = policy.tls[field]
    if (template !== undefined) fields.push({ path: ['tls', field], template: parseTemplate(template) })
  }
  return fields
}
