// Which JSON fields, form fields and query keys have their whole value redacted.
// Names are compared normalized (lower case, without '_', '-' and spaces), so
// `password` also covers `Password`, and `access_token` covers `accessToken`
// and `access-token`. A plain name matches a key at any depth; a dotted path
// (`card.number`, or `card[number]`) matches that chain of keys ending at any
// depth, array indices not counting: {"order":{"card":[{"number":...}]}} is
// covered.

/**
 * Built-in JSON and form fields, added to `logging.redact.fields`: the names
 * vendors' APIs use for passwords, tokens, keys and card data.
 */
export const BUILTIN_FIELDS: readonly string[] = [
  'password', 'passwd', 'secret', 'token', 'access_token', 'refresh_token', 'id_token',
  'client_secret', 'api_key', 'apikey', 'private_key', 'authorization',
  'card_number', 'cvv', 'cvc', 'ssn',
]

/**
 * Built-in query keys, added to `logging.redact.query`; the AWS ones cover
 * presigned URLs.
 */
export const BUILTIN_QUERY_KEYS: readonly string[] = [
  'token', 'access_token', 'api_key', 'apikey', 'key', 'secret', 'password', 'signature', 'sig',
  'client_secret', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token',
]

/** What replaces the whole value of a redacted header, field or query key. */
export const FIELD_MARKER = '[REDACTED]'

const SEPARATORS = /[_\-\s]/g
const FORM_KEY_PARTS = /[.[\]]+/
const INDEX = /^\d*$/

export function normalizeKey (key: string): string {
  return key.toLowerCase().replace(SEPARATORS, '')
}

/** "card[number]", "cards[0].number", "card.number" -> ["card", "number"], normalized. */
export function formKeyPath (key: string): string[] {
  return key.split(FORM_KEY_PARTS).filter(part => !INDEX.test(part)).map(normalizeKey)
}

export interface FieldMatcher {
  /** `path`: normalized keys from the outermost object to the current one */
  matches (path: readonly string[]): boolean
}

export function compileFieldMatcher (fields: readonly string[]): FieldMatcher {
  const names = new Set<string>()
  const dotted: string[][] = []
  for (const field of fields) {
    const path = formKeyPath(field)
    if (path.length === 1) names.add(path[0] as string)
    else if (path.length > 1) dotted.push(path)
  }
  function endsWith (path: readonly string[], suffix: readonly string[]): boolean {
    if (suffix.length > path.length) return false
    for (let i = 1; i <= suffix.length; i++) {
      if (suffix[suffix.length - i] !== path[path.length - i]) return false
    }
    return true
  }
  return {
    matches (path) {
      if (path.length === 0) return false
      if (names.has(path[path.length - 1] as string)) return true
      for (const candidate of dotted) if (endsWith(path, candidate)) return true
      return false
    },
  }
}
