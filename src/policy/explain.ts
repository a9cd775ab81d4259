// The effective policy of a vendor, as plain JSON in the words of the YAML
// ("5s", "10mb", "20%"), for `sluice explain` and the admin GET /policies.
// Credentials never appear: inject values and oauth2 client credentials show
// their references only, every other literal part masked as "***".
import { globSource } from './glob.js'
import { maskTemplate } from './secret-refs.js'
import type { BucketKey, CostSource, VendorPolicy } from './types.js'
import { formatDuration as dur, formatPercent as pct, formatSize as size } from './units.js'

export function explainPolicy (v: VendorPolicy): object {
  const { routes, timeouts, limits, rateLimit, retry, idempotency, circuitBreaker: cb, inject, logging, async: jobs } = v
  return {
    vendor: v.vendor,
    upstream: v.upstream,
    file: v.file,
    routes: {
      prefix: routes.prefix,
      hosts: [...routes.hosts],
      ...(routes.allow === undefined
        ? {}
        : {
            allow: routes.allow.map(rule => ({
              ...(rule.methods === undefined ? {} : { methods: [...rule.methods] }),
              ...(rule.paths === undefined ? {} : { paths: rule.paths.map(globSource) }),
            })),
          }),
    },
    timeouts: { connect: dur(timeouts.connectMs), read: dur(timeouts.readMs), total: dur(timeouts.totalMs) },
    limits: { body: size(limits.bodyBytes), concurrency: limits.concurrency },
    network: { allowPrivate: v.network.allowPrivate },
    // references only (the schema allows nothing else); masked all the same
    tls: defined({
      ca: v.tls.ca === undefined ? undefined : maskTemplate(v.tls.ca),
      cert: v.tls.cert === undefined ? undefined : maskTemplate(v.tls.cert),
      key: v.tls.key === undefined ? undefined : maskTemplate(v.tls.key),
      servername: v.tls.servername,
      minVersion: v.tls.minVersion,
    }),
    http2: v.http2,
    rateLimit: {
      mode: rateLimit.mode,
      failMode: rateLimit.failMode,
      buckets: rateLimit.buckets.map(b => ({
        name: b.name,
        capacity: b.capacity,
        refill: b.refill,
        key: keyText(b.key),
        onLimit: b.onLimit,
        maxWait: dur(b.maxWaitMs),
        ...(b.cost === undefined
          ? {}
          : {
              cost: defined({
                request: b.cost.request === undefined ? undefined : costText(b.cost.request),
                default: b.cost.default,
                response: b.cost.response === undefined ? undefined : costText(b.cost.response),
              }),
            }),
      })),
      headers: rateLimit.headers,
      upstream: defined({
        retryAfter: rateLimit.upstream.retryAfter,
        remainingHeader: rateLimit.upstream.remainingHeader,
        resetHeader: rateLimit.upstream.resetHeader,
        sync: rateLimit.upstream.sync,
      }),
    },
    retry: {
      attempts: retry.attempts,
      backoff: {
        initial: dur(retry.backoff.initialMs),
        max: dur(retry.backoff.maxMs),
        multiplier: retry.backoff.multiplier,
        jitter: retry.backoff.jitter,
      },
      on: [...retry.on],
      respectRetryAfter: retry.respectRetryAfter,
      idempotentOnly: retry.idempotentOnly,
      budget: pct(retry.budget),
      maxBufferedBody: size(retry.maxBufferedBodyBytes),
    },
    idempotency: { header: idempotency.header, generate: [...idempotency.generate] },
    circuitBreaker: {
      enabled: cb.enabled,
      failureRate: pct(cb.failureRate),
      minimumRequests: cb.minimumRequests,
      window: dur(cb.windowMs),
      openFor: dur(cb.openForMs),
      failOn: [...cb.failOn],
      ...(cb.bodyRule === undefined ? {} : { bodyRule: { path: cb.bodyRule.path.join('.'), equals: cb.bodyRule.equals } }),
    },
    inject: {
      headers: masked(inject.headers),
      query: masked(inject.query),
      strip: [...inject.strip],
      ...(inject.oauth2 === undefined
        ? {}
        : {
            oauth2: defined({
              tokenUrl: inject.oauth2.tokenUrl,
              clientId: maskTemplate(inject.oauth2.clientId),
              clientSecret: maskTemplate(inject.oauth2.clientSecret),
              scopes: [...inject.oauth2.scopes],
              audience: inject.oauth2.audience,
              header: inject.oauth2.header,
            }),
          }),
    },
    logging: {
      bodies: logging.bodies,
      maxBodyBytes: size(logging.maxBodyBytes),
      redact: {
        headers: [...logging.redact.headers],
        fields: [...logging.redact.fields],
        query: [...logging.redact.query],
        patterns: [...logging.redact.patterns],
      },
    },
    async: {
      enabled: jobs.enabled,
      maxBody: size(jobs.maxBodyBytes),
      maxAge: dur(jobs.maxAgeMs),
      resultTtl: dur(jobs.resultTtlMs),
      retry: {
        attempts: jobs.retry.attempts,
        backoff: {
          initial: dur(jobs.retry.backoff.initialMs),
          max: dur(jobs.retry.backoff.maxMs),
          multiplier: jobs.retry.backoff.multiplier,
          jitter: jobs.retry.backoff.jitter,
        },
        on: [...jobs.retry.on],
      },
      claimTimeout: dur(jobs.claimTimeoutMs),
      callbacks: {
        hosts: [...jobs.callbacks.hosts],
        ...(jobs.callbacks.secret === undefined ? {} : { secret: maskTemplate(jobs.callbacks.secret) }),
      },
    },
  }
}

function costText (source: CostSource): string | number {
  if (source.kind === 'constant') return source.value
  return source.kind === 'json' ? `json:${source.path.join('.')}` : `header:${source.name}`
}

function keyText (key: BucketKey): string {
  return key.kind === 'header' ? `header:${key.name}` : key.kind
}

function masked (templates: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(templates).map(([name, t]) => [name, maskTemplate(t)]))
}

/** Drops undefined fields, so JSON and the YAML reader agree on what is set. */
function defined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
