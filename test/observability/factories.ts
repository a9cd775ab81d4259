// Test factories: a LoggingPolicy compiled from a policy file's `logging`
// section (through test/helpers/policy.ts, so the defaults are the real ones),
// and generators of valid PII (check digits computed, never real data).
import type { LoggingPolicy } from '../../src/policy/types.js'
import { vendorPolicy, type RawPolicy } from '../helpers/policy.js'

type Redact = NonNullable<NonNullable<RawPolicy['logging']>['redact']>

/** Bodies are logged unless the test says otherwise: most scrubber tests are about bodies. */
export function loggingPolicy (overrides: { bodies?: boolean, maxBodyBytes?: number, redact?: Redact } = {}): LoggingPolicy {
  return vendorPolicy({
    logging: {
      bodies: overrides.bodies ?? true,
      ...(overrides.maxBodyBytes === undefined ? {} : { maxBodyBytes: `${overrides.maxBodyBytes}b` }),
      ...(overrides.redact === undefined ? {} : { redact: overrides.redact }),
    },
  }).logging
}

/** `prefix` + digits, completed with the Luhn check digit to `length` digits. */
export function luhnComplete (partial: string): string {
  let sum = 0
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return partial + String((10 - (sum % 10)) % 10)
}

/** An IBAN with correct check digits for `country` and `bban`. */
export function ibanFor (country: string, bban: string): string {
  const numeric = (bban + country + '00').replace(/[A-Z]/g, c => String(c.charCodeAt(0) - 55))
  let rest = 0
  for (const ch of numeric) rest = (rest * 10 + Number(ch)) % 97
  return country + String(98 - rest).padStart(2, '0') + bban
}

export function base64url (s: string): string {
  return Buffer.from(s).toString('base64url')
}

export function jwtFor (claims: Record<string, unknown>): string {
  return `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url(JSON.stringify(claims))}.${base64url('signature-bytes-here')}`
}
