// JSON bodies, scrubbed by a tolerant scan rather than JSON.parse: a body cut
// at maxBodyBytes is not valid JSON, and neither is everything vendors label
// application/json, yet a password in either must not reach the log. The scan
// keeps the text as written (order, spacing, big numbers) and rewrites only:
// - the value of a redacted field (any type, objects and arrays whole) -> "[REDACTED]"
// - strings and keys with a pattern or secret, checked after decoding their
//   escapes (so "a\u0040b.com" is found) -> re-encoded, scrubbed
// - numbers with a pattern (a card number sent as a number) -> a scrubbed string
// - anything else that is not JSON -> scrubbed as text, in spans that break only
//   at quotes, brackets and commas, so a spaced card number stays in one piece.
import { FIELD_MARKER, normalizeKey, type FieldMatcher } from './field-matcher.js'

const REDACTED_VALUE = JSON.stringify(FIELD_MARKER)
const JSON_SCALAR = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/

const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON = 58
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93

function isSpace (c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9
}

function endsSpan (c: number): boolean {
  return c === QUOTE || c === COMMA || c === OPEN_BRACE || c === CLOSE_BRACE || c === OPEN_BRACKET || c === CLOSE_BRACKET
}

/** Index after the closing quote of the string opening at `start`, or the end of a cut string. */
function stringEnd (src: string, start: number): number {
  let from = start + 1
  for (;;) {
    const q = src.indexOf('"', from)
    if (q < 0) return src.length
    let backslashes = 0
    while (src.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return q + 1
    from = q + 1
  }
}

/** Index after the object or array opening at `start`, or the end of a cut one. */
function containerEnd (src: string, start: number): number {
  let depth = 0
  let i = start
  while (i < src.length) {
    const c = src.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(src, i)
      continue
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1
    i++
  }
  return src.length
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
const HEX4 = /^[0-9A-Fa-f]{4}$/

/**
 * The text of a string token's contents. Written out rather than JSON.parse,
 * so that a cut or invalid escape costs nothing (no exception per string): an
 * unknown escape stands for its character, a cut one is dropped.
 */
function decodeString (raw: string): string {
  let from = raw.indexOf('\\')
  if (from < 0) return raw
  let out = raw.slice(0, from)
  while (from >= 0) {
    const c = raw.charAt(from + 1)
    let next = from + 2
    if (c === 'u') {
      const hex = raw.slice(from + 2, from + 6)
      if (HEX4.test(hex)) {
        out += String.fromCharCode(parseInt(hex, 16))
        next = from + 6
      } else if (hex.length < 4) {
        next = raw.length // cut in the middle of the escape
      } else {
        out += c
      }
    } else {
      out += ESCAPES[c] ?? c
    }
    from = raw.indexOf('\\', next)
    out += raw.slice(next, from < 0 ? raw.length : from)
  }
  return out
}

interface Frame {
  object: boolean
  /** in an object: the next string is a key */
  expectKey: boolean
}

export function scrubJson (src: string, fields: FieldMatcher, text: (s: string) => string): string {
  const stack: Frame[] = []
  const keys: string[] = [] // normalized current key of each object frame, outermost first
  let out = ''
  let copied = 0
  let i = 0

  function emit (start: number, end: number, replacement: string): void {
    out += src.slice(copied, start) + replacement
    copied = end
  }

  function valueIsRedacted (): boolean {
    const top = stack[stack.length - 1]
    return top !== undefined && top.object && !top.expectKey && fields.matches(keys)
  }

  while (i < src.length) {
    const c = src.charCodeAt(i)
    if (isSpace(c)) {
      i++
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (valueIsRedacted()) {
        const end = containerEnd(src, i)
        emit(i, end, REDACTED_VALUE)
        i = end
      } else {
        stack.push({ object: c === OPEN_BRACE, expectKey: true })
        if (c === OPEN_BRACE) keys.push('')
        i++
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (stack.pop()?.object === true) keys.pop()
      i++
    } else if (c === COMMA) {
      const top = stack[stack.length - 1]
      if (top?.object === true) top.expectKey = true
      i++
    } else if (c === QUOTE) {
      i = scrubString(i)
    } else {
      i = scrubSpan(i)
    }
  }
  return out + src.slice(copied)

  function scrubString (start: number): number {
    const end = stringEnd(src, start)
    const closed = end - start >= 2 && src.charCodeAt(end - 1) === QUOTE
    const decoded = decodeString(src.slice(start + 1, closed ? end - 1 : end))
    const top = stack[stack.length - 1]
    if (top?.object === true && top.expectKey) {
      top.expectKey = false
      keys[keys.length - 1] = normalizeKey(decoded)
      const scrubbed = text(decoded)
      if (scrubbed !== decoded) emit(start, end, JSON.stringify(scrubbed))
      // the colon after a key is structure, not the start of a value span
      let next = end
      while (isSpace(src.charCodeAt(next))) next++
      return src.charCodeAt(next) === COLON ? next + 1 : next
    }
    if (valueIsRedacted()) {
      emit(start, end, REDACTED_VALUE)
    } else {
      const scrubbed = text(decoded)
      if (scrubbed !== decoded) emit(start, end, JSON.stringify(scrubbed))
    }
    return end
  }

  function scrubSpan (start: number): number {
    let end = start
    while (end < src.length && !endsSpan(src.charCodeAt(end))) end++
    let first = start
    let last = end
    while (last > first && isSpace(src.charCodeAt(last - 1))) last--
    while (first < last && isSpace(src.charCodeAt(first))) first++
    if (valueIsRedacted()) {
      emit(first, last, REDACTED_VALUE)
      return end
    }
    const span = src.slice(first, last)
    const scrubbed = text(span)
    if (scrubbed !== span) emit(first, last, JSON_SCALAR.test(span) ? JSON.stringify(scrubbed) : scrubbed)
    return end
  }
}
