// Percent-encoded text: the path and query of a request, and
// application/x-www-form-urlencoded bodies. Every component is checked as
// written and after decoding (twice-encoded values included), so `a%40b.com`
// is found as an e-mail. A component with a finding is logged decoded, its
// plain pieces encoded again and its markers left readable; one without is
// logged exactly as written.
import { FIELD_MARKER, formKeyPath, type FieldMatcher } from './field-matcher.js'

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g
const PERCENT = /%/g
const PLUS = /\+/g
const MARKERS = /(\[REDACTED(?::[a-z]+)?\])/
const MAX_DECODE_ROUNDS = 3

/** Bytes that are not UTF-8 become U+FFFD; never throws. */
function decodeRun (run: string): string {
  return Buffer.from(run.replace(PERCENT, ''), 'hex').toString('utf8')
}

function decode (raw: string): string {
  let s = raw
  for (let round = 0; round < MAX_DECODE_ROUNDS && s.includes('%'); round++) {
    const next = s.replace(PERCENT_RUN, decodeRun)
    if (next === s) break
    s = next
  }
  return s
}

function encode (scrubbed: string): string {
  const pieces = scrubbed.split(MARKERS)
  for (let i = 0; i < pieces.length; i += 2) {
    try {
      pieces[i] = encodeURIComponent(pieces[i] as string)
    } catch {
      // a lone surrogate: keep the piece as it is, it was scrubbed already
    }
  }
  return pieces.join('')
}

/**
 * One path segment, query key or value (or a text body that may hold
 * percent-encoding). Where '+' may mean a space (query and form), both readings
 * are checked; when both hold findings no single decoded form is safe to log,
 * so the whole component is masked. With `reencode` false a finding is logged
 * decoded, as prose reads.
 */
export function scrubComponent (raw: string, text: (s: string) => string, plusIsSpace: boolean, reencode = true): string {
  const hasPlus = plusIsSpace && raw.includes('+')
  if (!hasPlus && !raw.includes('%')) return text(raw)
  const literal = decode(raw)
  const literalScrubbed = text(literal)
  if (hasPlus) {
    const spaced = decode(raw.replace(PLUS, ' '))
    const spacedScrubbed = text(spaced)
    const literalFound = literalScrubbed !== literal
    const spacedFound = spacedScrubbed !== spaced
    if (literalFound && spacedFound) return FIELD_MARKER
    if (spacedFound) return reencode ? encode(spacedScrubbed) : spacedScrubbed
  }
  if (literalScrubbed !== literal) return reencode ? encode(literalScrubbed) : literalScrubbed
  // nothing in the decoded forms: check the raw form too (a secret may hold a '%')
  return text(raw)
}

/** `k=v&k2=v2`: values of matched keys masked, patterns scrubbed in the rest. */
export function scrubPairs (s: string, redacted: FieldMatcher, text: (s: string) => string): string {
  const pairs = s.split('&')
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] as string
    const eq = pair.indexOf('=')
    if (eq < 0) {
      pairs[i] = scrubComponent(pair, text, true)
      continue
    }
    const key = pair.slice(0, eq)
    const keyOut = scrubComponent(key, text, true)
    const masked = redacted.matches(formKeyPath(decode(key.replace(PLUS, ' '))))
    pairs[i] = keyOut + '=' + (masked ? FIELD_MARKER : scrubComponent(pair.slice(eq + 1), text, true))
  }
  return pairs.join('&')
}

/** "/v1/x/a%40b.com?token=abc&q=1" -> segments and values scrubbed, redacted keys masked. */
export function scrubPathAndQuery (pathWithQuery: string, redactedKeys: FieldMatcher, text: (s: string) => string): string {
  const q = pathWithQuery.indexOf('?')
  const path = q < 0 ? pathWithQuery : pathWithQuery.slice(0, q)
  const segments = path.split('/')
  for (let i = 0; i < segments.length; i++) segments[i] = scrubComponent(segments[i] as string, text, false)
  const pathOut = segments.join('/')
  return q < 0 ? pathOut : pathOut + '?' + scrubPairs(pathWithQuery.slice(q + 1), redactedKeys, text)
}
