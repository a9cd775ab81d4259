// Compiled VendorPolicy objects for the rate limit tests, built by hand so the
// tests do not depend on the policy loader.
import type { BucketKey, BucketPolicy, RateLimitPolicy, VendorPolicy } from '../../src/policy/types.js'

export interface BucketSpec {
  name?: string
  capacity: number
  /** tokens per second */
  perSecond: number
  key?: BucketKey
  onLimit?: 'queue' | 'reject'
  maxWaitMs?: number
}

export function bucket (spec: BucketSpec): BucketPolicy {
  return {
    name: spec.name ?? 'burst',
    capacity: spec.capacity,
    refillPerMs: spec.perSecond / 1000,
    refill: `${spec.perSecond}/s`,
    key: spec.key ?? { kind: 'vendor' },
    onLimit: spec.onLimit ?? 'reject',
    maxWaitMs: spec.maxWaitMs ?? 0,
  }
}

let seq = 0

/** A unique vendor name per call, so tests sharing one Redis never share buckets. */
export function uniqueVendor (base = 'v'): string {
  seq++
  return `${base}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`
}

export function policy (opts: {
  vendor?: string
  buckets: BucketSpec[]
  mode?: RateLimitPolicy['mode']
  failMode?: RateLimitPolicy['failMode']
  upstream?: Partial<RateLimitPolicy['upstream']>
}): VendorPolicy {
  const vendor = opts.vendor ?? uniqueVendor()
  return {
    vendor,
    upstream: 'https://api.example.com',
    origin: 'https://api.example.com:443',
    hostname: 'api.example.com',
    hostHeader: 'api.example.com',
    basePath: '',
    ipLiteral: false,
    file: `${vendor}.yaml`,
    routes: { prefix: `/${vendor}`, hosts: [], allow: undefined },
    timeouts: { connectMs: 5000, readMs: 30000, totalMs: 60000 },
    limits: { bodyBytes: 10 * 1024 * 1024, concurrency: 256 },
    network: { allowPrivate: false },
    rateLimit: {
      mode: opts.mode ?? 'enforce',
      failMode: opts.failMode ?? 'open',
      buckets: opts.buckets.map(bucket),
      upstream: {
        retryAfter: opts.upstream?.retryAfter ?? true,
        remainingHeader: opts.upstream?.remainingHeader,
        resetHeader: opts.upstream?.resetHeader,
      },
    },
    retry: {
      attempts: 3,
      backoff: { initialMs: 1000, maxMs: 10000, multiplier: 2, jitter: 'full' },
      on: ['connect-error', 'timeout', 429, 502, 503, 504],
      respectRetryAfter: true,
      idempotentOnly: true,
      budget: 0.2,
      maxBufferedBodyBytes: 1024 * 1024,
    },
    idempotency: { header: 'idempotency-key', generate: new Set(['POST']) },
    circuitBreaker: {
      enabled: true,
      failureRate: 0.1,
      minimumRequests: 20,
      windowMs: 10000,
      openForMs: 60000,
      failOn: ['5xx', 'timeout', 'connect-error'],
      bodyRule: undefined,
    },
    inject: { headers: {}, query: {}, strip: [], oauth2: undefined },
    logging: {
      bodies: false,
      maxBodyBytes: 4096,
      redact: { headers: [], fields: [], query: [], patterns: ['email', 'card', 'ssn', 'phone', 'iban', 'jwt', 'bearer', 'apikey'] },
    },
  }
}
