// Which bucket a call draws from: one per vendor, per client IP, or per value
// of a request header. Header values may be a tenant's API key, so they are
// hashed before they reach a Redis key name or a log line.
import { createHash } from 'node:crypto'
import type { VendorPolicy } from '../policy/types.js'

/** The key value of a `key: vendor` bucket: one bucket for every call. */
export const VENDOR_KEY_VALUE = 'all'
/** The key value when the header (or client address) is missing: such calls share one bucket. */
export const MISSING_KEY_VALUE = '-'

const NO_VALUES: readonly string[] = Object.freeze([])

/**
 * The key value of each of the policy's buckets for one call, in bucket order,
 * as RateLimiter.acquire() takes them. `header` is called with lower-case names
 * (compilePolicy lower-cases a bucket's key header).
 */
/**
 * The key values of a policy whose every bucket is keyed by vendor: the same
 * for every call, so made once at policy load (Plan.fixedKeys); undefined when
 * some bucket is keyed by a header or the client address.
 */
export function fixedKeyValues (policy: VendorPolicy): readonly string[] | undefined {
  const buckets = policy.rateLimit.buckets
  if (!buckets.every(b => b.key.kind === 'vendor')) return undefined
  return Object.freeze(buckets.map(() => VENDOR_KEY_VALUE))
}

export function bucketKeyValues (policy: VendorPolicy, header: (name: string) => string | undefined, clientIp: string): readonly string[] {
  const buckets = policy.rateLimit.buckets
  if (buckets.length === 0) return NO_VALUES
  const values = new Array<string>(buckets.length)
  for (let i = 0; i < buckets.length; i++) {
    const key = (buckets[i] as VendorPolicy['rateLimit']['buckets'][number]).key
    if (key.kind === 'vendor') {
      values[i] = VENDOR_KEY_VALUE
    } else if (key.kind === 'ip') {
      values[i] = clientIp === '' ? MISSING_KEY_VALUE : clientIp
    } else {
      const v = header(key.name)
      values[i] = v === undefined || v === '' ? MISSING_KEY_VALUE : hashKeyValue(v)
    }
  }
  return values
}

/**
 * The key values a log line carries, by bucket name, for the buckets not keyed
 * by vendor; undefined when there are none. A header value is hashed already;
 * a client address is hashed here, so the line holds no address either.
 */
export function loggedKeys (policy: VendorPolicy, values: readonly string[]): Record<string, string> | undefined {
  const buckets = policy.rateLimit.buckets
  let out: Record<string, string> | undefined
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i] as VendorPolicy['rateLimit']['buckets'][number]
    const kind = bucket.key.kind
    if (kind === 'vendor') continue
    const v = values[i] ?? MISSING_KEY_VALUE
    out ??= {}
    out[bucket.name] = kind === 'ip' && v !== MISSING_KEY_VALUE ? hashKeyValue(v) : v
  }
  return out
}

/** 64 bits of sha256, hex: enough to keep tenants apart, useless for reading a key back. */
export function hashKeyValue (value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16)
}

// Redis key names. The vendor in braces is the Redis Cluster hash tag: every key
// one decision touches (its buckets and the pause) lives in the same slot, so
// one script can update them atomically.

/** Prefix of a bucket's keys; the key value is appended. */
export function bucketKeyPrefix (vendor: string, bucket: string): string {
  return `sluice:{${vendor}}:b:${bucket}:`
}

/** The sorted set every replica announces itself in (one key: one Cluster slot). */
export const REPLICAS_KEY = 'sluice:{replicas}'

/** The key whose presence (and TTL) pauses a vendor after it asked for a break. */
export function pauseKey (vendor: string): string {
  return `sluice:{${vendor}}:pause`
}
