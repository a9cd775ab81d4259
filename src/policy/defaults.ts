// Where every field's default comes from, in order: the built-in defaults
// below, then the folder's defaults.yaml, then the vendor's own file. Objects
// merge field by field at every depth; a list is replaced whole (a vendor that
// lists two buckets gets those two, not the defaults' plus its own).
import { deepFreeze } from './freeze.js'
import { SCRUB_PATTERNS, type DefaultsFileInput, type PolicyFileInput } from './schema.js'

type Def<T> = Exclude<T, undefined>
type Shared = Required<DefaultsFileInput>

/** A vendor file after every default is applied: each field with a built-in default is present. */
export interface EffectivePolicyInput {
  vendor: string
  upstream: string
  routes: {
    /** absent: /<vendor> */
    prefix?: string
    hosts: string[]
    /** absent: everything allowed */
    allow?: Def<Shared['routes']['allow']>
  }
  timeouts: Required<Shared['timeouts']>
  limits: Required<Shared['limits']>
  network: Required<Shared['network']>
  tls: Omit<Def<Shared['tls']>, 'minVersion'> & { minVersion: Def<Def<Shared['tls']>['minVersion']> }
  http2: boolean
  rateLimit: {
    mode: Def<Shared['rateLimit']['mode']>
    failMode: Def<Shared['rateLimit']['failMode']>
    buckets: Def<Shared['rateLimit']['buckets']>
    headers: boolean
    upstream: { retryAfter: boolean, remainingHeader?: string, resetHeader?: string, sync?: string }
  }
  retry: Required<Omit<Shared['retry'], 'backoff'>> & { backoff: Required<Def<Shared['retry']['backoff']>> }
  idempotency: Required<Shared['idempotency']>
  circuitBreaker: Required<Omit<Shared['circuitBreaker'], 'bodyRule'>> & { bodyRule?: Def<Shared['circuitBreaker']['bodyRule']> }
  inject: {
    headers: Record<string, string>
    query: Record<string, string>
    /** absent: the injected header names */
    strip?: string[]
    oauth2?: Def<Shared['inject']['oauth2']>
  }
  logging: {
    bodies: boolean
    maxBodyBytes: string
    redact: Required<Def<Shared['logging']['redact']>>
  }
  async: Required<Omit<Shared['async'], 'retry' | 'callbacks'>> & {
    retry: { attempts: number, backoff: Required<Def<Def<Shared['async']['retry']>['backoff']>>, on: Def<Def<Shared['async']['retry']>['on']> }
    callbacks: { hosts: string[], secret?: string }
  }
}

/** A bucket's own defaults: lists are replaced whole, so these apply per bucket. */
export const BUCKET_DEFAULTS = Object.freeze({ key: 'vendor', onLimit: 'queue', maxWait: '2s' } as const)

/** The default header an oauth2 access token is sent in. */
export const OAUTH2_HEADER_DEFAULT = 'Authorization'

export const BUILT_IN_DEFAULTS: Omit<EffectivePolicyInput, 'vendor' | 'upstream'> = deepFreeze({
  routes: { hosts: [] },
  timeouts: { connect: '5s', read: '30s', total: '60s' },
  limits: { body: '10mb', concurrency: 256 },
  network: { allowPrivate: false },
  tls: { minVersion: 'TLSv1.2' },
  http2: false,
  rateLimit: {
    mode: 'enforce',
    failMode: 'open',
    buckets: [],
    headers: false,
    upstream: { retryAfter: true },
  },
  retry: {
    attempts: 3,
    backoff: { initial: '1s', max: '10s', multiplier: 2, jitter: 'full' },
    on: ['connect-error', 'timeout', 429, 502, 503, 504],
    respectRetryAfter: true,
    idempotentOnly: true,
    budget: '20%',
    maxBufferedBody: '1mb',
  },
  idempotency: { header: 'Idempotency-Key', generate: [] },
  circuitBreaker: {
    enabled: true,
    failureRate: '10%',
    minimumRequests: 20,
    window: '10s',
    openFor: '60s',
    failOn: ['5xx', 'timeout', 'connect-error'],
  },
  inject: { headers: {}, query: {} },
  logging: {
    bodies: false,
    maxBodyBytes: '4kb',
    redact: {
      headers: [],
      fields: [],
      query: [],
      patterns: [...SCRUB_PATTERNS],
    },
  },
  async: {
    enabled: false,
    maxBody: '1mb',
    maxAge: '24h',
    resultTtl: '24h',
    retry: {
      attempts: 10,
      backoff: { initial: '1s', max: '10m', multiplier: 2, jitter: 'full' },
      on: ['connect-error', 'timeout', 'reset', 429, '5xx'],
    },
    claimTimeout: '60s',
    callbacks: { hosts: [] },
  },
})

/** built-in <- defaults.yaml <- vendor file, field by field. */
export function applyDefaults (vendor: PolicyFileInput, defaults: DefaultsFileInput | undefined): EffectivePolicyInput {
  const shared = defaults === undefined ? BUILT_IN_DEFAULTS : merge(BUILT_IN_DEFAULTS, defaults)
  return merge(shared, vendor) as EffectivePolicyInput
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A fresh object: `over` wins field by field, objects recurse, lists and scalars replace. */
export function merge (base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over)
  const out: Record<string, unknown> = structuredClone(base)
  for (const [key, value] of Object.entries(over)) {
    // defineProperty: a "__proto__" key (a header name may be one) stays a plain field.
    const merged = Object.hasOwn(out, key) ? merge(out[key], value) : structuredClone(value)
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true })
  }
  return out
}
