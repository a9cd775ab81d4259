// A checked, defaults-applied policy file -> the VendorPolicy every runtime
// module reads on each call. All the work happens here, once per load: units to
// numbers, header names to lower case, globs to RegExps, methods to Sets; the
// result is frozen so no call can change what the next one sees.
import { isIP } from 'node:net'
import { BUCKET_DEFAULTS, OAUTH2_HEADER_DEFAULT, type EffectivePolicyInput } from './defaults.js'
import { deepFreeze } from './freeze.js'
import { compileGlob } from './glob.js'
import { parseTemplate } from './secret-refs.js'
import type { AllowRule, BucketKey, BucketPolicy, CostSource, VendorPolicy } from './types.js'
import { parseDuration, parsePercent, parseRate, parseSize } from './units.js'

// Inputs are schema-checked before they get here; a unit that does not parse is a bug.
function req (value: number | undefined, text: string): number {
  if (value === undefined || !Number.isFinite(value)) throw new Error(`unchecked policy value ${JSON.stringify(text)}`)
  return value
}
const ms = (text: string): number => req(parseDuration(text), text)
const bytes = (text: string): number => req(parseSize(text), text)
const share = (text: string): number => req(parsePercent(text), text)
const perMs = (text: string): number => req(parseRate(text), text)
const lower = (names: readonly string[]): string[] => names.map(n => n.toLowerCase())

export function compilePolicy (p: EffectivePolicyInput, file: string): VendorPolicy {
  const url = new URL(p.upstream)
  // WHATWG URL keeps IPv6 brackets in hostname; a dialler wants the bare address.
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const injectHeaders = Object.fromEntries(Object.entries(p.inject.headers).map(([k, v]) => [k.toLowerCase(), v]))
  const oauth2 = p.inject.oauth2
  const oauth2Header = (oauth2?.header ?? OAUTH2_HEADER_DEFAULT).toLowerCase()
  const injected = [...Object.keys(injectHeaders), ...(oauth2 === undefined ? [] : [oauth2Header])]

  const policy: VendorPolicy = {
    vendor: p.vendor,
    upstream: p.upstream,
    origin: url.origin,
    hostname,
    hostHeader: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
    ipLiteral: isIP(hostname) !== 0,
    file,
    routes: {
      prefix: p.routes.prefix ?? `/${p.vendor}`,
      hosts: lower(p.routes.hosts),
      allow: p.routes.allow?.map((rule): AllowRule => ({
        methods: rule.methods === undefined ? undefined : new Set(rule.methods.map(m => m.toUpperCase())),
        paths: rule.paths?.map(compileGlob),
      })),
    },
    timeouts: { connectMs: ms(p.timeouts.connect), readMs: ms(p.timeouts.read), totalMs: ms(p.timeouts.total) },
    limits: { bodyBytes: bytes(p.limits.body), concurrency: p.limits.concurrency },
    network: { allowPrivate: p.network.allowPrivate },
    tls: {
      ca: p.tls.ca,
      cert: p.tls.cert,
      key: p.tls.key,
      servername: p.tls.servername?.toLowerCase(),
      minVersion: p.tls.minVersion,
    },
    http2: p.http2,
    rateLimit: {
      mode: p.rateLimit.mode,
      failMode: p.rateLimit.failMode,
      buckets: p.rateLimit.buckets.map((b): BucketPolicy => ({
        name: b.name,
        capacity: b.capacity,
        refillPerMs: perMs(b.refill),
        refill: b.refill,
        key: bucketKey(b.key ?? BUCKET_DEFAULTS.key),
        onLimit: b.onLimit ?? BUCKET_DEFAULTS.onLimit,
        maxWaitMs: ms(b.maxWait ?? BUCKET_DEFAULTS.maxWait),
        cost: b.cost === undefined
          ? undefined
          : {
              request: b.cost.request === undefined ? undefined : costSource(b.cost.request),
              default: b.cost.default ?? 1,
              response: b.cost.response === undefined ? undefined : costSource(b.cost.response) as Exclude<CostSource, { kind: 'constant' }>,
            },
      })),
      headers: p.rateLimit.headers,
      upstream: {
        retryAfter: p.rateLimit.upstream.retryAfter,
        remainingHeader: p.rateLimit.upstream.remainingHeader?.toLowerCase(),
        resetHeader: p.rateLimit.upstream.resetHeader?.toLowerCase(),
        sync: p.rateLimit.upstream.sync,
      },
    },
    retry: {
      attempts: p.retry.attempts,
      backoff: {
        initialMs: ms(p.retry.backoff.initial),
        maxMs: ms(p.retry.backoff.max),
        multiplier: p.retry.backoff.multiplier,
        jitter: p.retry.backoff.jitter,
      },
      on: [...p.retry.on],
      respectRetryAfter: p.retry.respectRetryAfter,
      idempotentOnly: p.retry.idempotentOnly,
      budget: share(p.retry.budget),
      maxBufferedBodyBytes: bytes(p.retry.maxBufferedBody),
    },
    idempotency: {
      header: p.idempotency.header.toLowerCase(),
      generate: new Set(p.idempotency.generate.map(m => m.toUpperCase())),
    },
    circuitBreaker: {
      enabled: p.circuitBreaker.enabled,
      failureRate: share(p.circuitBreaker.failureRate),
      minimumRequests: p.circuitBreaker.minimumRequests,
      windowMs: ms(p.circuitBreaker.window),
      openForMs: ms(p.circuitBreaker.openFor),
      failOn: [...p.circuitBreaker.failOn],
      bodyRule: p.circuitBreaker.bodyRule === undefined
        ? undefined
        : { path: p.circuitBreaker.bodyRule.path.split('.'), equals: p.circuitBreaker.bodyRule.equals },
    },
    inject: {
      headers: injectHeaders,
      query: { ...p.inject.query },
      strip: p.inject.strip === undefined ? injected : lower(p.inject.strip),
      oauth2: oauth2 === undefined
        ? undefined
        : {
            tokenUrl: oauth2.tokenUrl,
            clientId: oauth2.clientId,
            clientSecret: oauth2.clientSecret,
            scopes: [...(oauth2.scopes ?? [])],
            audience: oauth2.audience,
            header: oauth2Header,
          },
      templates: {
        headers: Object.entries(injectHeaders).map(([name, t]) => [name, parseTemplate(t)] as const),
        query: Object.entries(p.inject.query).map(([key, t]) => [key, parseTemplate(t)] as const),
        oauth2: oauth2 === undefined
          ? undefined
          : { clientId: parseTemplate(oauth2.clientId), clientSecret: parseTemplate(oauth2.clientSecret) },
      },
    },
    logging: {
      bodies: p.logging.bodies,
      maxBodyBytes: bytes(p.logging.maxBodyBytes),
      redact: {
        headers: lower(p.logging.redact.headers),
        fields: [...p.logging.redact.fields],
        query: [...p.logging.redact.query],
        patterns: [...p.logging.redact.patterns],
      },
    },
    async: {
      enabled: p.async.enabled,
      maxBodyBytes: bytes(p.async.maxBody),
      maxAgeMs: ms(p.async.maxAge),
      resultTtlMs: ms(p.async.resultTtl),
      retry: {
        attempts: p.async.retry.attempts,
        backoff: {
          initialMs: ms(p.async.retry.backoff.initial),
          maxMs: ms(p.async.retry.backoff.max),
          multiplier: p.async.retry.backoff.multiplier,
          jitter: p.async.retry.backoff.jitter,
        },
        on: [...p.async.retry.on],
      },
      claimTimeoutMs: ms(p.async.claimTimeout),
      callbacks: { hosts: new Set(lower(p.async.callbacks.hosts)), secret: p.async.callbacks.secret },
    },
  }
  return deepFreeze(policy)
}

function bucketKey (key: string): BucketKey {
  if (key === 'vendor' || key === 'ip') return { kind: key }
  return { kind: 'header', name: key.slice('header:'.length).toLowerCase() }
}

function costSource (source: string | number): CostSource {
  if (typeof source === 'number') return { kind: 'constant', value: source }
  if (source.startsWith('json:')) return { kind: 'json', path: source.slice('json:'.length).split('.') }
  return { kind: 'header', name: source.slice('header:'.length).toLowerCase() }
}
