// Stage: credentials the application never holds, and the request as the
// vendor will see it: client headers filtered (hop-by-hop, X-Forwarded-*, the
// headers sluice injects), injected headers and query added, the idempotency
// key added where the policy generates one, the path under the base path.
import type { Injection } from '../credentials/index.js'
import { clientHeadersForUpstream, queryKeyOf } from '../proxy/headers.js'
import { idempotencyKeyToAdd, isReplayable, newIdempotencyKey } from '../resilience/retry-decision.js'
import type { PreparedCall, RoutedCall } from './context.js'

/** Refuses, before the rate limit, a call whose credentials cannot be had now: it must take no token. */
export function checkCredentials (ctx: RoutedCall): void {
  ctx.vendor.credentials.check()
}

/** The injection at once when the credentials are at hand, else a promise of it (an OAuth2 token being fetched). */
export function injectCredentials (ctx: RoutedCall): Injection | Promise<Injection> {
  return ctx.vendor.credentials.get()
}

/** Builds ctx.headers (client part) once; the injected part is added per attempt by upstreamHeaders(). */
export function prepareRequest (ctx: RoutedCall, path: string, query: string, injection: Injection): asserts ctx is PreparedCall {
  const vendor = ctx.vendor
  const policy = vendor.policy
  const keyHeader = policy.idempotency.header
  const h = clientHeadersForUpstream(ctx.req.rawHeaders, injection.strip, keyHeader)
  ctx.headers = h
  ctx.injection = injection
  if (idempotencyKeyToAdd(ctx.method, h.idempotencyKey !== undefined, policy)) {
    h.idempotencyKey = newIdempotencyKey()
    h.out.push(keyHeader, h.idempotencyKey)
  }
  h.out.push('x-request-id', ctx.requestId)
  ctx.injectedAt = h.out.length
  pushInjected(h.out, injection)
  ctx.replayable = isReplayable(ctx.method, (name) => name === keyHeader ? h.idempotencyKey : undefined, policy)
  ctx.upstreamPath = policy.basePath + (path === '' && policy.basePath === '' ? '/' : path) + withInjectedQuery(query, injection)
  if (injection.query !== '') ctx.injectedQueryKeys = injection.queryKeys
}

/**
 * The headers for one attempt: the client's (filtered), then the injected
 * ones, last, so nothing can override them. Built once per call: an attempt
 * reuses them (undici copies them into its request), except that a traced
 * call's attempt adds its own traceparent to a copy.
 */
export function upstreamHeaders (ctx: PreparedCall): string[] {
  const out = ctx.headers.out
  return ctx.trace === undefined ? out : out.slice()
}

/** A renewed credential (after a 401) replaces the injected headers for the next attempt. */
export function reinject (ctx: PreparedCall, injection: Injection): void {
  ctx.injection = injection
  const out = ctx.headers.out
  out.length = ctx.injectedAt
  pushInjected(out, injection)
}

function pushInjected (out: string[], injection: Injection): void {
  // indexed: a for-of with destructuring allocates an iterator per call here
  const headers = injection.headers
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as readonly [string, string]
    out.push(h[0], h[1])
  }
}

/** The client's query with the injected keys' own values dropped, then the injected ones. */
function withInjectedQuery (query: string, injection: Injection): string {
  if (injection.query === '') return query
  let kept = ''
  if (query.length > 1) {
    for (const pair of query.slice(1).split('&')) {
      if (pair === '') continue
      if (!injection.queryKeys.has(queryKeyOf(pair))) kept += (kept === '' ? '' : '&') + pair
    }
  }
  return '?' + (kept === '' ? '' : kept + '&') + injection.query
}
