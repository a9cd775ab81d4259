// A policy after defaults are merged and units are parsed: what the request
// pipeline reads. Every duration is in milliseconds, every size in bytes, every
// rate in tokens per millisecond. Built once per policy load, then frozen.
import type { ScrubPattern } from './schema.js'
import type { Template } from './secret-refs.js'

/** Where a call's cost is read: a dotted path into a JSON body, a header (lower case), or a constant. */
export type CostSource = { kind: 'json', path: string[] } | { kind: 'header', name: string } | { kind: 'constant', value: number }

export interface BucketCost {
  /** the estimate reserved before the call; undefined: `default` */
  request: CostSource | undefined
  /** the estimate when the request does not carry one */
  default: number
  /** the actual cost read from the response; undefined: the estimate stands */
  response: Exclude<CostSource, { kind: 'constant' }> | undefined
}

export type BucketKey = { kind: 'vendor' } | { kind: 'ip' } | { kind: 'header', name: string }

export interface BucketPolicy {
  name: string
  capacity: number
  /** tokens added per millisecond */
  refillPerMs: number
  /** the rate as written, for explain and logs */
  refill: string
  key: BucketKey
  onLimit: 'queue' | 'reject'
  maxWaitMs: number
  /** undefined: every call costs 1 */
  cost: BucketCost | undefined
}

export interface RateLimitPolicy {
  mode: 'enforce' | 'shadow'
  failMode: 'open' | 'closed'
  buckets: BucketPolicy[]
  /** send RateLimit-Policy / RateLimit with relayed answers */
  headers: boolean
  upstream: {
    retryAfter: boolean
    remainingHeader: string | undefined
    resetHeader: string | undefined
    /** the bucket lowered to the vendor's remainingHeader */
    sync: string | undefined
  }
}

export type RetryCondition = 'connect-error' | 'timeout' | 'reset' | number

export interface RetryPolicy {
  attempts: number
  backoff: { initialMs: number, maxMs: number, multiplier: number, jitter: 'full' | 'equal' | 'none' }
  on: RetryCondition[]
  respectRetryAfter: boolean
  idempotentOnly: boolean
  /** retries allowed as a share of first attempts, 0..1 */
  budget: number
  maxBufferedBodyBytes: number
}

export type FailOn = '5xx' | '4xx' | 'timeout' | 'connect-error' | number

export interface CircuitBreakerPolicy {
  enabled: boolean
  /** 0..1 */
  failureRate: number
  minimumRequests: number
  windowMs: number
  openForMs: number
  failOn: FailOn[]
  bodyRule: { path: string[], equals: string | number | boolean | null } | undefined
}

export interface OAuth2Policy {
  tokenUrl: string
  /** secret references, unresolved: ${env:X} / ${file:/p} / literal */
  clientId: string
  clientSecret: string
  scopes: string[]
  audience: string | undefined
  header: string
}

export interface InjectPolicy {
  /** header name (lower case) -> template with secret references */
  headers: Record<string, string>
  query: Record<string, string>
  /** client header names (lower case) removed before injection */
  strip: string[]
  oauth2: OAuth2Policy | undefined
  /** the templates above, parsed once here: what `validate` checked is what credentials render */
  templates: {
    /** lower-case header name -> template, in policy order */
    headers: ReadonlyArray<readonly [string, Template]>
    query: ReadonlyArray<readonly [string, Template]>
    oauth2: { clientId: Template, clientSecret: Template } | undefined
  }
}

export interface LoggingPolicy {
  bodies: boolean
  maxBodyBytes: number
  redact: {
    headers: string[]
    fields: string[]
    query: string[]
    patterns: ScrubPattern[]
  }
}

export type JobRetryCondition = 'connect-error' | 'timeout' | 'reset' | '4xx' | '5xx' | number

export interface AsyncPolicy {
  enabled: boolean
  maxBodyBytes: number
  maxAgeMs: number
  resultTtlMs: number
  retry: {
    attempts: number
    backoff: { initialMs: number, maxMs: number, multiplier: number, jitter: 'full' | 'equal' | 'none' }
    on: JobRetryCondition[]
  }
  claimTimeoutMs: number
  callbacks: {
    /** lower-case host[:port] names */
    hosts: Set<string>
    /** secret reference, unresolved; undefined = callbacks unsigned */
    secret: string | undefined
  }
}

export interface TlsPolicy {
  /** secret references (${file:/p} or ${env:X}), unresolved */
  ca: string | undefined
  cert: string | undefined
  key: string | undefined
  /** SNI and the name checked; undefined = the upstream host */
  servername: string | undefined
  minVersion: 'TLSv1.2' | 'TLSv1.3'
}

export interface AllowRule {
  /** undefined = every method */
  methods: Set<string> | undefined
  /** undefined = every path; matched against the path below the prefix */
  paths: RegExp[] | undefined
}

export interface VendorPolicy {
  vendor: string
  /** the upstream as written */
  upstream: string
  /** scheme://host:port */
  origin: string
  /** upstream host name or IP literal (no brackets) */
  hostname: string
  /** the Host header sent upstream */
  hostHeader: string
  /** base path without trailing slash ('' for none) */
  basePath: string
  /** true when the upstream host is an IP literal: taken as written */
  ipLiteral: boolean
  /** the file this policy came from */
  file: string
  routes: {
    /** without trailing slash, e.g. /stripe */
    prefix: string
    /** lower-case host names */
    hosts: string[]
    /** undefined = everything allowed */
    allow: AllowRule[] | undefined
  }
  timeouts: { connectMs: number, readMs: number, totalMs: number }
  limits: { bodyBytes: number, concurrency: number }
  network: { allowPrivate: boolean }
  tls: TlsPolicy
  /** offer h2 by ALPN */
  http2: boolean
  rateLimit: RateLimitPolicy
  retry: RetryPolicy
  idempotency: { header: string, generate: Set<string> }
  circuitBreaker: CircuitBreakerPolicy
  inject: InjectPolicy
  logging: LoggingPolicy
  async: AsyncPolicy
}

/** One loaded and checked policy folder. */
export interface PolicySet {
  vendors: VendorPolicy[]
  /** files read, for reload and explain */
  files: string[]
}

/** A problem found while loading: printed as FILE:LINE:COL: message. */
export interface PolicyProblem {
  file: string
  line: number
  col: number
  message: string
  /** a risky setting that does not refuse the set; unset = an error */
  severity?: 'warning'
}
