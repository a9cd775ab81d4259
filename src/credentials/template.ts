// Secret references inside policy strings: "${env:NAME}" and "${file:/abs/path}",
// mixed freely with literal text ("Bearer ${env:STRIPE_API_KEY}"). A template is
// parsed once per policy load into literal parts and references; rendering it
// only concatenates. Error messages name the offset and the rule broken, never
// the text around it: a malformed template may hold a pasted secret.

export type SecretRef =
  | { readonly kind: 'env', readonly name: string, readonly text: string }
  | { readonly kind: 'file', readonly path: string, readonly text: string }

/** A template's parts in order: literal strings and references. */
export interface Template {
  readonly parts: ReadonlyArray<string | SecretRef>
  /** the references it holds, in order of appearance, duplicates included */
  readonly refs: readonly SecretRef[]
}

export class TemplateError extends Error {
  /** zero-based offset of the faulty "${" in the template */
  readonly offset: number

  constructor (offset: number, rule: string) {
    super(`secret reference at offset ${offset}: ${rule}`)
    this.name = 'TemplateError'
    this.offset = offset
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// The messages below show the reference syntax itself, "${...}" included.
/* eslint-disable no-template-curly-in-string */

/** Parses a template; throws TemplateError on a malformed reference. */
export function parseTemplate (template: string): Template {
  const parts: Array<string | SecretRef> = []
  const refs: SecretRef[] = []
  let from = 0
  for (;;) {
    const open = template.indexOf('${', from)
    if (open === -1) break
    const close = template.indexOf('}', open + 2)
    if (close === -1) throw new TemplateError(open, 'missing the closing "}"')
    const ref = parseReference(template.slice(open + 2, close), open)
    if (open > from) parts.push(template.slice(from, open))
    parts.push(ref)
    refs.push(ref)
    from = close + 1
  }
  if (from < template.length) parts.push(template.slice(from))
  return { parts, refs }
}

function parseReference (inner: string, offset: number): SecretRef {
  const colon = inner.indexOf(':')
  const kind = colon === -1 ? '' : inner.slice(0, colon)
  const arg = inner.slice(colon + 1)
  if (kind === 'env') {
    if (!ENV_NAME.test(arg)) throw new TemplateError(offset, '${env:NAME} needs a variable name of letters, digits and "_"')
    return { kind, name: arg, text: `\${env:${arg}}` }
  }
  if (kind === 'file') {
    if (!arg.startsWith('/') || arg.length < 2 || arg.includes('\0')) {
      throw new TemplateError(offset, '${file:PATH} needs an absolute path')
    }
    return { kind, path: arg, text: `\${file:${arg}}` }
  }
  throw new TemplateError(offset, 'expected ${env:NAME} or ${file:/absolute/path}')
}
/* eslint-enable no-template-curly-in-string */

/** The problem with a template's references, or undefined when well formed (for `validate`). */
export function checkTemplate (template: string): string | undefined {
  try {
    parseTemplate(template)
    return undefined
  } catch (err) {
    if (err instanceof TemplateError) return err.message
    throw err
  }
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
