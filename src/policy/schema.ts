// The policy file as written in YAML: one vendor per file. This TypeBox schema is
// the single source of the JSON Schema shipped in schema/policy.schema.json (for
// editors) and of the validation `sluice validate` runs. Values stay strings here
// ("5s", "10mb", "25/s"); src/policy/compile.ts turns them into numbers once.
import { Type, type Static, type TInteger, type TLiteral, type TSchema, type TObject, type TProperties, type TUnion } from '@sinclair/typebox'

const DURATION = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$'
const SIZE = '^[0-9]+(\\.[0-9]+)?(b|kb|mb|gb)$'
const RATE = '^[0-9]+(\\.[0-9]+)?/(s|sec|second|m|min|minute|h|hour|d|day)$'
const PERCENT = '^[0-9]+(\\.[0-9]+)?%$'
// An HTTP header name (RFC 9110 token); field-checks.ts tests keys against it too.
const HEADER_TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
export const HEADER_NAME = `^${HEADER_TOKEN}$`
const COST_SOURCE = `^(json:[^.\\s]+(\\.[^.\\s]+)*|header:${HEADER_TOKEN})$`

// Every object rejects unknown keys: a typo in a policy must fail the pull request.
const Obj = <T extends TProperties>(props: T, description?: string): TObject<T> =>
  Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) })
const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema)

export const Duration = Type.String({ pattern: DURATION, description: 'a duration: 250ms, 5s, 2m, 1h, 1d' })
export const Size = Type.String({ pattern: SIZE, description: 'a size: 512kb, 10mb' })
export const Rate = Type.String({ pattern: RATE, description: 'a rate: 25/s, 600/min, 5000/h, 100000/day' })
export const Percent = Type.String({ pattern: PERCENT, description: 'a share: 10%' })
const HeaderName = Type.String({ pattern: HEADER_NAME, description: 'an HTTP header name' })

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
const Method = Type.Union(HTTP_METHODS.map(m => Type.Literal(m)), { description: 'an HTTP method' })

export const Routes = Obj({
  prefix: Opt(Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$', description: 'path prefix routed to this vendor; default /<vendor>' })),
  hosts: Opt(Type.Array(Type.String({ pattern: '^[A-Za-z0-9.-]+$' }), { description: 'Host-header and absolute-URI routing' })),
  allow: Opt(Type.Array(Obj({
    methods: Opt(Type.Array(Method, { minItems: 1 })),
    paths: Opt(Type.Array(Type.String({ pattern: '^/' }), { minItems: 1, description: 'globs: * one segment, ** any depth' })),
  }), { description: 'default: everything under the prefix' })),
})

export const Timeouts = Obj({
  connect: Opt(Duration),
  read: Opt(Type.String({ pattern: DURATION, description: 'until the final response headers (1xx answers do not restart it), and between body chunks' })),
  total: Opt(Type.String({ pattern: DURATION, description: 'the whole call: queueing, attempts and backoff' })),
})

export const Limits = Obj({
  body: Opt(Size),
  concurrency: Opt(Type.Integer({ minimum: 1, maximum: 100000 })),
})

export const Network = Obj({
  allowPrivate: Opt(Type.Boolean({ description: 'a host-name upstream may resolve to private addresses' })),
})

// A PEM file or value: exactly one secret reference, never the PEM itself in the policy.
const PemRef = (description: string) => Type.String({ pattern: '^\\$\\{(env|file):[^}]+\\}$', description })

export const Tls = Obj({
  ca: Opt(PemRef('extra CAs for this vendor (PEM), besides Node\'s roots and SLUICE_CA_FILE: ${file:/path}')),
  cert: Opt(PemRef('client certificate (PEM) for mTLS, re-read when the file changes: ${file:/path}')),
  key: Opt(PemRef('the client certificate\'s private key (PEM): ${file:/path}')),
  servername: Opt(Type.String({ pattern: '^[A-Za-z0-9.-]+$', description: 'SNI and the name the certificate must carry; default: the upstream host' })),
  minVersion: Opt(Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { description: 'the oldest TLS version accepted; default TLSv1.2' })),
})

export const Bucket = Obj({
  name: Type.String({ pattern: '^[a-z0-9-]+$' }),
  capacity: Type.Integer({ minimum: 1 }),
  refill: Rate,
  key: Opt(Type.String({ pattern: `^(vendor|ip|header:${HEADER_TOKEN})$`, description: 'vendor | ip | header:<name>' })),
  onLimit: Opt(Type.Union([Type.Literal('queue'), Type.Literal('reject')])),
  maxWait: Opt(Duration),
  cost: Opt(Obj({
    request: Opt(Type.Union([
      Type.String({ pattern: COST_SOURCE, description: 'json:<path> of the request body | header:<name>' }),
      Type.Integer({ minimum: 0, description: 'a fixed cost' }),
    ], { description: 'the estimate reserved before the call: json:<path> | header:<name> | <integer>' })),
    default: Opt(Type.Integer({ minimum: 0, description: 'the estimate when the request does not carry it; default 1' })),
    response: Opt(Type.String({ pattern: COST_SOURCE, description: 'the actual cost, settled after the response: json:<path> of the body (or of the last server-sent event that carries it) | header:<name>' })),
  }, 'what a call costs this bucket; default: every call costs 1')),
})

export const RateLimit = Obj({
  mode: Opt(Type.Union([Type.Literal('enforce'), Type.Literal('shadow')])),
  failMode: Opt(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
  buckets: Opt(Type.Array(Bucket)),
  headers: Opt(Type.Boolean({ description: 'send RateLimit-Policy and RateLimit headers (IETF httpapi draft) with relayed answers' })),
  upstream: Opt(Obj({
    retryAfter: Opt(Type.Boolean()),
    remainingHeader: Opt(HeaderName),
    resetHeader: Opt(HeaderName),
    sync: Opt(Type.String({ pattern: '^[a-z0-9-]+$', description: 'lower this bucket to the vendor\'s remainingHeader, for every replica (never raised)' })),
  })),
})

/** Outcomes a policy lists (retry.on, failOn): these names, or an HTTP status 400-599. */
function outcomes<T extends string> (...names: T[]): TUnion<[...Array<TLiteral<T>>, TInteger]> {
  return Type.Union([...names.map(n => Type.Literal(n)), Type.Integer({ minimum: 400, maximum: 599 })])
}

const RetryCondition = outcomes('connect-error', 'timeout', 'reset')

/** Exponential backoff, for a call's retries and for a job's long-horizon ones alike. */
const Backoff = Obj({
  initial: Opt(Duration),
  max: Opt(Duration),
  multiplier: Opt(Type.Number({ minimum: 1, maximum: 10 })),
  jitter: Opt(Type.Union([Type.Literal('full'), Type.Literal('equal'), Type.Literal('none')])),
})

export const Retry = Obj({
  attempts: Opt(Type.Integer({ minimum: 1, maximum: 10, description: 'total attempts, the first included' })),
  backoff: Opt(Backoff),
  on: Opt(Type.Array(RetryCondition)),
  respectRetryAfter: Opt(Type.Boolean()),
  idempotentOnly: Opt(Type.Boolean()),
  budget: Opt(Percent),
  maxBufferedBody: Opt(Type.String({ pattern: SIZE, description: 'bodies up to this size are kept for replay; larger ones stream and are not retried' })),
})

export const Idempotency = Obj({
  header: Opt(HeaderName),
  generate: Opt(Type.Array(Method)),
})

const FailOn = outcomes('5xx', '4xx', 'timeout', 'connect-error')

export const CircuitBreaker = Obj({
  enabled: Opt(Type.Boolean()),
  failureRate: Opt(Percent),
  minimumRequests: Opt(Type.Integer({ minimum: 1 })),
  window: Opt(Duration),
  openFor: Opt(Duration),
  failOn: Opt(Type.Array(FailOn)),
  bodyRule: Opt(Obj({
    path: Type.String({ minLength: 1, description: 'dotted path into a JSON response body' }),
    equals: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
  })),
})

export const OAuth2 = Obj({
  tokenUrl: Type.String({ pattern: '^https?://' }),
  clientId: Type.String(),
  clientSecret: Type.String(),
  scopes: Opt(Type.Array(Type.String())),
  audience: Opt(Type.String()),
  header: Opt(HeaderName),
})

export const Inject = Obj({
  headers: Opt(Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String())),
  query: Opt(Type.Record(Type.String({ minLength: 1 }), Type.String())),
  strip: Opt(Type.Array(HeaderName)),
  oauth2: Opt(OAuth2),
})

export const SCRUB_PATTERNS = ['email', 'card', 'ssn', 'phone', 'iban', 'jwt', 'bearer', 'apikey'] as const
export type ScrubPattern = typeof SCRUB_PATTERNS[number]

export const Logging = Obj({
  bodies: Opt(Type.Boolean()),
  maxBodyBytes: Opt(Size),
  redact: Opt(Obj({
    headers: Opt(Type.Array(HeaderName)),
    fields: Opt(Type.Array(Type.String({ minLength: 1 }))),
    query: Opt(Type.Array(Type.String({ minLength: 1 }))),
    patterns: Opt(Type.Array(Type.Union(SCRUB_PATTERNS.map(p => Type.Literal(p))))),
  })),
})

const JobRetryCondition = outcomes('connect-error', 'timeout', 'reset', '4xx', '5xx')

export const Async = Obj({
  enabled: Opt(Type.Boolean({ description: 'Prefer: respond-async answers 202 and delivers the call later' })),
  maxBody: Opt(Type.String({ pattern: SIZE, description: 'the largest request body a job may hold' })),
  maxAge: Opt(Type.String({ pattern: DURATION, description: 'a job still not delivered after this is dead-lettered' })),
  resultTtl: Opt(Type.String({ pattern: DURATION, description: 'how long a finished job and its result are kept' })),
  retry: Opt(Obj({
    attempts: Opt(Type.Integer({ minimum: 1, maximum: 1000, description: 'attempts sent to the vendor, the first included' })),
    backoff: Opt(Backoff),
    on: Opt(Type.Array(JobRetryCondition)),
  }, 'long-horizon retries of a job; they replace `retry` for jobs')),
  claimTimeout: Opt(Type.String({ pattern: DURATION, description: 'a job held this long by a silent replica is taken over' })),
  callbacks: Opt(Obj({
    hosts: Opt(Type.Array(Type.String({ pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$' }), { description: 'hosts x-sluice-callback may name' })),
    secret: Opt(Type.String({ description: 'Standard Webhooks signing secret, whsec_<base64>; a ${env:} or ${file:} reference' })),
  })),
})

// Everything a vendor file may set besides its identity; defaults.yaml holds only these.
const sharedFields = {
  routes: Opt(Routes),
  timeouts: Opt(Timeouts),
  limits: Opt(Limits),
  network: Opt(Network),
  tls: Opt(Tls),
  http2: Opt(Type.Boolean({ description: 'offer HTTP/2 to the vendor by ALPN, falling back to HTTP/1.1' })),
  rateLimit: Opt(RateLimit),
  retry: Opt(Retry),
  idempotency: Opt(Idempotency),
  circuitBreaker: Opt(CircuitBreaker),
  inject: Opt(Inject),
  logging: Opt(Logging),
  async: Opt(Async),
}

export const PolicyFile = Obj({
  vendor: Type.String({ pattern: '^[a-z0-9-]+$', description: 'the vendor name, unique' }),
  upstream: Type.String({ pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$', description: 'http(s)://host[:port][/base-path]' }),
  ...sharedFields,
}, 'A sluice vendor policy: one vendor per file')

export const DefaultsFile = Obj({ ...sharedFields }, 'sluice defaults.yaml: fields applied to every vendor, overridden field by field')

export type PolicyFileInput = Static<typeof PolicyFile>
export type DefaultsFileInput = Static<typeof DefaultsFile>
