// The PII and secret patterns scrubbed out of free text (README "Logs"). Every
// regex is built once, at module load; a policy picks which rules apply and
// compileTextPatterns() closes over that choice once per policy load.
//
// Each rule finds candidates with a regex anchored by lookbehinds, so a scan
// never restarts inside a run it already rejected (linear time), and an
// optional validator decides whether a candidate is really PII: a card must
// pass Luhn, an IBAN mod-97, a phone number must have 8-15 digits. A rejected
// candidate is left exactly as written. Rules run in a fixed order, the more
// specific first (a bearer token before the JWT inside it, an IBAN before the
// digits inside it); a marker never contains digits, '@' or token characters,
// so a later rule cannot match inside an earlier rule's marker.
//
// What each rule takes, and what it deliberately leaves:
// - email: local@domain.tld (letters of any script, TLD of 2+ letters). "user@host" and
//   "pkg@1.2.3" stay.
// - card: 13-19 digits starting with 2-6 (Visa, Mastercard, Amex, Discover,
//   JCB, Diners, UnionPay) and passing Luhn, written as one run, in groups of
//   four split by spaces or dashes, or as Amex 4-6-5. Numbers starting with 1
//   (millisecond and microsecond timestamps), decimals (123...45.67), longer
//   digit runs and lists of short numbers ("100 200 300 400 500") stay. Inside
//   a longer run of digit groups the card's groups are found on their own.
// - ssn: ddd-dd-dddd, except areas 000, 666, 9xx, group 00 and serial 0000.
// - phone: "+" and 8-15 digits (E.164) with optional spaces, dots, dashes and
//   parentheses; or a NANP number written with separators: (415) 555-2671,
//   415-555-2671, 415.555.2671, 1-800-555-0199. An unseparated run of digits is
//   never a phone number (it is an id, an amount or a timestamp), and neither
//   is "+12345678.90" (a signed amount) or a "+01:00" zone offset.
// - iban: country code, 2 check digits, 11-30 letters or digits, written compact
//   or in groups of four, passing mod-97. Upper case only.
// - jwt: eyJ<base64url>.<base64url>.<base64url> (JWE's extra parts included).
// - bearer: "Bearer <token>" (any case) with a token of 6+ token68 characters.
// - apikey: well-known prefixes (sk_live_, sk_test_, rk_live_, pk_live_,
//   AKIA/ASIA + 16, ghp_/gho_/ghs_/ghu_/ghr_, github_pat_, xox[abpr]-, OpenAI
//   sk-..., Google AIza...) and any run of 32+ ASCII letters and digits that
//   has both. Dashes and underscores end such a run, so UUIDs and slugs stay;
//   32-character hex strings (trace ids, MD5 ETags) do not, as nothing tells
//   them from a 32-hex API key.
import type { ScrubPattern } from '../policy/schema.js'

export type PatternName = ScrubPattern

interface Rule {
  name: PatternName
  /** global; String.prototype.replace resets lastIndex, so sharing it is safe */
  regex: RegExp
  /** a cheap necessary condition, so most strings skip the scan */
  trigger: RegExp
  /**
   * the fewest UTF-16 code units any match of `regex` has: a shorter string
   * cannot hold one, so it skips the rule without a regex run (most path
   * segments: "v1", "items", "42")
   */
  minLength: number
  /** the text that replaces a candidate; the candidate itself to keep it */
  replace?: (candidate: string, marker: string) => string
}

const DIGIT = /\d/
const LETTER = /[A-Za-z]/
const SPACE_OR_DASH = /[ -]/
const SIGNED_AMOUNT = /^\+\d+\.\d{1,2}$/

function luhnValid (digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

function cardLike (digits: string): boolean {
  const first = digits.charCodeAt(0)
  return digits.length >= 13 && digits.length <= 19 && first >= 50 && first <= 54 && luhnValid(digits)
}

/** How cards are written: one run, groups of four (the last may be shorter), or Amex/Diners 4-6-5 and 4-6-4. */
function cardGrouping (lengths: readonly number[]): boolean {
  const n = lengths.length
  if (n === 1) return true
  if (n === 3 && lengths[0] === 4 && lengths[1] === 6 && (lengths[2] === 5 || lengths[2] === 4)) return true
  for (let k = 0; k < n - 1; k++) if (lengths[k] !== 4) return false
  return (lengths[n - 1] as number) <= 4
}

/**
 * A candidate is a run of digit groups split by single spaces or dashes
 * ("order 12 4111 1111 1111 1111 7"). Every window of whole groups written
 * the way cards are written is checked, and the
 * union of the windows that pass is replaced: when two overlapping windows
 * both pass, masking only one could leave digits of the real card.
 */
function replaceCards (candidate: string, marker: string): string {
  const groups = candidate.split(SPACE_OR_DASH)
  if (groups.length === 1) return cardLike(candidate) ? marker : candidate
  const separators: string[] = [] // separators[k] follows groups[k]
  let at = 0
  for (const group of groups) {
    at += group.length
    separators.push(candidate.charAt(at))
    at++
  }
  const covered: boolean[] = new Array<boolean>(groups.length).fill(false)
  const lengths: number[] = []
  for (let i = 0; i < groups.length; i++) {
    let digits = ''
    lengths.length = 0
    for (let j = i; j < groups.length; j++) {
      const group = groups[j] as string
      digits += group
      lengths.push(group.length)
      if (digits.length > 19) break
      if (cardGrouping(lengths) && cardLike(digits)) covered.fill(true, i, j + 1)
    }
  }
  let out = ''
  for (let k = 0; k < groups.length; k++) {
    if (!covered[k]) out += groups[k] as string
    else if (k === 0 || !covered[k - 1]) out += marker
    if (k < groups.length - 1 && !(covered[k] && covered[k + 1])) out += separators[k] as string
  }
  return out
}

function isDigit (c: number): boolean {
  return c >= 48 && c <= 57
}

const IBAN_MIN = 15
const IBAN_MAX = 34

function ibanValid (compact: string): boolean {
  if (compact.length < IBAN_MIN || compact.length > IBAN_MAX) return false
  const rearranged = compact.slice(4) + compact.slice(0, 4)
  let rest = 0
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i)
    // 0-9 stay digits, A-Z become 10-35: fold one or two decimal digits in
    rest = c <= 57 ? (rest * 10 + c - 48) % 97 : (rest * 100 + c - 55) % 97
  }
  return rest === 1
}

const IBAN_START = /^[A-Z]{2}\d\d$/

/**
 * A grouped candidate may start with a word that only looks like a country
 * code ("AB12 DE89 3704 ...") and run into a following 4-character word: try
 * every start group, and from each the longest run of groups that checks.
 */
function replaceIban (candidate: string, marker: string): string {
  if (!candidate.includes(' ')) return ibanValid(candidate) ? marker : candidate
  const groups = candidate.split(' ')
  const out: string[] = []
  let i = 0
  while (i < groups.length) {
    let found = -1
    if (IBAN_START.test(groups[i] as string)) {
      let compact = groups[i] as string
      let j = i
      while (j + 1 < groups.length && compact.length + (groups[j + 1] as string).length <= IBAN_MAX) compact += groups[++j] as string
      for (; j > i && compact.length >= IBAN_MIN; j--) {
        if (ibanValid(compact)) {
          found = j
          break
        }
        compact = compact.slice(0, compact.length - (groups[j] as string).length)
      }
    }
    if (found < 0) {
      out.push(groups[i] as string)
      i++
    } else {
      out.push(marker)
      i = found + 1
    }
  }
  return out.join(' ')
}

const MAX_PHONE_DIGITS = 15
const MIN_PHONE_DIGITS = 8
const INTERNATIONAL_PHONE = /(?<![\w+])\+[1-9][\d .()-]{6,}\d(?!\w)/
const NANP_PHONE = /(?<![\w+.-])(?:1[ .-])?(?:\([2-9]\d\d\) ?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}(?!\w|[.-]\d)/
/** for the digits an international candidate swallowed but does not take */
const NANP_IN_REST = new RegExp(NANP_PHONE.source, 'g')

/**
 * An international candidate: keep whole groups up to 15 digits, then require
 * 8. Spaces are separators, so a candidate may run on into a NANP number
 * ("+44 20 7946 0958  415-555-2671"): what it does not take is checked for one.
 */
function replaceInternationalPhone (candidate: string, marker: string): string {
  if (candidate.charCodeAt(0) !== 43 /* + */) return marker // the NANP branch is exact
  if (SIGNED_AMOUNT.test(candidate)) return candidate
  let digits = 0
  let end = 0
  let kept = 0 // digits in candidate.slice(0, end)
  for (let i = 0; i < candidate.length; i++) {
    if (!isDigit(candidate.charCodeAt(i))) continue
    if (++digits > MAX_PHONE_DIGITS) break
    if (!isDigit(candidate.charCodeAt(i + 1))) {
      end = i + 1
      kept = digits
    }
  }
  return kept >= MIN_PHONE_DIGITS
    ? marker + candidate.slice(end).replace(NANP_IN_REST, marker)
    : candidate.replace(NANP_IN_REST, marker)
}

function replaceIfLettersAndDigits (candidate: string, marker: string): string {
  return DIGIT.test(candidate) && LETTER.test(candidate) ? marker : candidate
}

/** OpenAI-style sk-... must carry a digit: "sk-learn-..." prose stays. */
function replacePrefixedKey (candidate: string, marker: string): string {
  if (!candidate.startsWith('sk-')) return marker
  return DIGIT.test(candidate.slice(3)) ? marker : candidate
}

// Application order matters; see the header comment.
const RULES: readonly Rule[] = [
  {
    name: 'bearer',
    regex: /(?<![A-Za-z0-9])[Bb][Ee][Aa][Rr][Ee][Rr]\s+[A-Za-z0-9\-._~+/]{6,}=*/g,
    trigger: /[Bb][Ee][Aa][Rr][Ee][Rr]/,
    minLength: 13,
  },
  {
    name: 'jwt',
    regex: /(?<![A-Za-z0-9_-])eyJ[\w-]+\.[\w-]+\.[\w-]*(?:\.[\w-]+){0,2}/g,
    trigger: /eyJ/,
    minLength: 7,
  },
  {
    name: 'apikey',
    regex: /(?<![A-Za-z0-9])(?:[spr]k_(?:live|test)_[A-Za-z0-9]{8,}|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])|gh[opsur]_[A-Za-z0-9]{30,}|github_pat_\w{22,}|xox[abpr]-[A-Za-z0-9-]{10,}|sk-[\w-]{20,}|AIza[\w-]{35})/g,
    trigger: /[spr]k_|gh[opsur]_|github_pat_|xox|sk-|AIza|AKIA|ASIA/,
    minLength: 15, // xoxb- + 10
    replace: replacePrefixedKey,
  },
  {
    name: 'email',
    regex: /(?<![\p{L}\p{N}_.%+-])[\p{L}\p{N}_.%+-]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}(?![\p{L}\p{N}-])/gu,
    trigger: /@/,
    minLength: 6,
  },
  {
    name: 'iban',
    regex: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])/g,
    trigger: /[A-Z]{2}\d\d/,
    minLength: 14,
    replace: replaceIban,
  },
  {
    name: 'card',
    regex: /(?<![\w+]|\d[.,])\d(?:[ -]?\d){12,}(?!\w|[.,]\d)/g,
    trigger: /\d/,
    minLength: 13,
    replace: replaceCards,
  },
  {
    name: 'ssn',
    regex: /(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g,
    trigger: /\d-\d/,
    minLength: 11,
  },
  {
    name: 'phone',
    regex: new RegExp(`${INTERNATIONAL_PHONE.source}|${NANP_PHONE.source}`, 'g'),
    trigger: /\d\d/,
    minLength: 9,
    replace: replaceInternationalPhone,
  },
  {
    name: 'apikey',
    regex: /(?<![A-Za-z0-9])[A-Za-z0-9]{32,}(?![A-Za-z0-9])/g,
    trigger: /\d/,
    minLength: 32,
    replace: replaceIfLettersAndDigits,
  },
]

/** The marker that replaces a match of `name`. */
export function patternMarker (name: PatternName): string {
  return `[REDACTED:${name}]`
}

/**
 * The text scan for one policy: the enabled rules, in order, behind one combined
 * trigger so that text with none of the rules' ingredients costs a single scan.
 */
export function compileTextPatterns (enabled: readonly PatternName[]): (s: string) => string {
  const on = new Set(enabled)
  const rules = RULES.filter(rule => on.has(rule.name))
  if (rules.length === 0) return s => s
  const anyTrigger = new RegExp(rules.map(rule => rule.trigger.source).join('|'))
  const shortest = Math.min(...rules.map(rule => rule.minLength))
  const steps = rules.map(rule => {
    const marker = patternMarker(rule.name)
    const replace = rule.replace
    const replacer = replace === undefined ? () => marker : (candidate: string) => replace(candidate, marker)
    return { trigger: rule.trigger, regex: rule.regex, minLength: rule.minLength, replacer }
  })
  return function scrubPatterns (s: string): string {
    if (s.length < shortest || !anyTrigger.test(s)) return s
    for (const step of steps) {
      if (s.length >= step.minLength && step.trigger.test(s)) s = s.replace(step.regex, step.replacer)
    }
    return s
  }
}
