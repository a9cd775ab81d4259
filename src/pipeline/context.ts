// Everything one call carries through the pipeline, in one object allocated
// per call. Stages read and fill it; finish() turns it into the log line and
// the metrics.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SluiceError } from '../errors.js'
import type { VendorRuntime } from '../runtime/vendor-runtime.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import type { ClientHeaders, ResponseHeaderSink } from '../proxy/headers.js'
import type { BodyCapture } from '../observability/body-capture.js'
import { pushRateLimitHeaders, type CostTap, type QueueWaiter, type RateDecision } from '../ratelimit/index.js'
import type { AttemptOutcome } from '../resilience/outcome.js'
import type { CallTrace } from '../observability/tracing.js'
import { tunnelOrigin } from '../intercept/tunnel-socket.js'
import type { Injection } from '../credentials/index.js'
import type { AttemptHandle } from '../proxy/attempt.js'
import type { Deadlined } from '../resilience/deadlines.js'
import { totalTimeoutError } from '../proxy/upstream-errors.js'

export type CallBody =
  | { kind: 'none' }
  | { kind: 'buffered', data: Buffer }
  | { kind: 'stream', source: AsyncIterable<Buffer> }

const NO_BODY: CallBody = Object.freeze({ kind: 'none' })

/** An absolute-form request target, kept aside while fastify routes on '/'. */
export interface TargetCarrier extends IncomingMessage {
  sluiceTarget?: string
}

/** A call once route() found its vendor: every stage after routing takes this. */
export interface RoutedCall extends CallContext {
  readonly vendor: VendorRuntime
}

/** A routed call whose upstream request head is built (prepareRequest). */
export interface PreparedCall extends RoutedCall {
  readonly headers: ClientHeaders
  injection: Injection
}

export class CallContext implements ResponseHeaderSink, QueueWaiter, Deadlined {
  readonly startedAt = performance.now()
  requestId = ''
  vendor: VendorRuntime | undefined = undefined
  /** path below the prefix, query included, as the client sent it */
  rest = ''
  /** path + query sent upstream (base path and injected query included) */
  upstreamPath = ''
  /** the path for the log line (query not yet scrubbed) */
  logPath: string
  headers: ClientHeaders | undefined = undefined
  body: CallBody = NO_BODY
  /** the path below the vendor's base path and the query (checkPath) */
  path = ''
  query = ''
  /** epoch ms by which the whole call must be over (timeouts.total) */
  deadline = 0
  deadlinePassed = false
  /** the runtime's deadline sweep links the call through these while it runs */
  deadlineNext: Deadlined | undefined = undefined
  deadlinePrev: Deadlined | undefined = undefined
  deadlineWatched = false

  attempts = 0
  waitMs = 0
  upstreamMs = 0
  status = 0
  error: SluiceError | undefined = undefined
  /** the raw cause of error, for the log (never sent to the client) */
  cause: unknown = undefined
  /** the shadow limiter would have refused */
  wouldLimit = false
  /** each bucket's key value (header values hashed), for the log line's keys */
  bucketKeys: readonly string[] | undefined = undefined
  /** the upstream response started reaching the client */
  relayed = false
  /** the response body was cut off midway */
  cutOff = false
  /** the client went away before the end */
  clientGone = false
  /** sluice wrote its own answer to this call (the first one stands) */
  answered = false
  /** the call holds a bulkhead slot / breaker admission to give back */
  inBulkhead = false
  breakerAdmitted = false
  /** the last attempt's outcome, that the breaker judges when the call ends (judgeCall) */
  outcome: AttemptOutcome | undefined = undefined
  /** the head of a streamed request body, kept for the log (logging.bodies) */
  reqCapture: BodyCapture | undefined = undefined
  resBodyLog: Buffer | undefined = undefined
  resContentType: string | undefined = undefined
  resContentEncoding: string | undefined = undefined
  resBytes = 0
  /** the start of a JSON response body, when a breaker body rule reads it */
  ruleBody: Buffer | undefined = undefined
  /** routed by Host header or absolute-form target rather than by prefix */
  viaHost = false
  /** the call's request body may be sent again (idempotent, or carries a key) */
  replayable = false
  /** an attempt of an asynchronous job: its retries are the job's (async.retry), not the call's */
  jobAttempt = false
  /** the query parameters sluice injects for this call, if any */
  injectedQueryKeys: ReadonlySet<string> | undefined = undefined

  /** the call's spans; undefined while tracing is off */
  trace: CallTrace | undefined = undefined

  /** the attempt in flight, if any: abort() ends it */
  attempt: AttemptHandle | undefined = undefined
  /** where the injected headers start in headers.out */
  injectedAt = 0
  /** the credentials injected into every attempt (prepareRequest) */
  injection: Injection | undefined = undefined
  /** an OAuth2 token was renewed after a 401: a second 401 is final */
  renewed = false
  /** hears the end of the attempts (forwardCall) */
  forwardDone: ((ctx: PreparedCall, err: unknown) => void) | undefined = undefined
  /** the index of the pipeline stage to run next (src/pipeline/index.ts) */
  stage = 0
  /** ends the call's wait in the rate-limit queue, if it is queued (set by the limiter) */
  cancelWait: (() => void) | undefined = undefined
  /** the rate-limit tokens taken for the next attempt (their key values: bucketKeys) */
  tokens: RateDecision | undefined = undefined
  /** ctx.attempts when `tokens` were taken: unchanged at the end, the attempt was never sent */
  tokensAtAttempt = 0
  /** the rate-limit bucket that refused the call or made it wait, for the log */
  rateBucket: string | undefined = undefined
  /** what the call cost its first weighted bucket (estimate, then actual), for the log */
  cost: number | undefined = undefined
  /** reads the actual cost from the relayed response, when the policy settles costs */
  costTap: CostTap | undefined = undefined
  /** the request body stage has run (it may run early, when a cost estimate reads the body) */
  bodyRead = false

  constructor (
    readonly runtime: ProxyRuntime,
    readonly req: TargetCarrier,
    readonly res: ServerResponse
  ) {
    this.url = req.sluiceTarget ?? req.url ?? '/'
    this.logPath = this.url
  }

  /** the request target as the client sent it (absolute-form included) */
  readonly url: string

  get method (): string {
    return this.req.method ?? 'GET'
  }

  header (name: string): string | undefined {
    const v = this.req.headers[name]
    return Array.isArray(v) ? v[0] : v
  }

  /**
   * Where a vendor URL in Location/Link now points: back through sluice. A
   * prefix-routed call gets the listener's own address (the socket's local
   * end), never a client-supplied string. A host-routed call must keep its
   * host name to be routed again: the validated Host (or absolute-form
   * authority), whose name is one of the policy's routes.hosts.
   */
  rewriteTarget (): string {
    // inside an intercepted tunnel the client reached the vendor's own https URL
    const tunnel = tunnelOrigin(this.req)
    if (tunnel !== undefined) return tunnel
    if (this.viaHost) {
      const url = this.url
      if (url.charCodeAt(0) !== 47 /* / */) {
        const from = url.indexOf('//') + 2
        const end = url.slice(from).search(/[/?#]/)
        return 'http://' + (end === -1 ? url.slice(from) : url.slice(from, from + end))
      }
      return `http://${this.req.headers.host ?? ''}`
    }
    const s = this.req.socket
    const addr = s.localFamily === 'IPv6' ? `[${s.localAddress ?? ''}]` : (s.localAddress ?? '')
    return `http://${addr}:${s.localPort ?? 0}${this.vendor?.policy.routes.prefix ?? ''}`
  }

  /** sluice's own headers on a relayed response: the rate-limit headers */
  addResponseHeaders (headers: string[]): void {
    if (this.vendor !== undefined) pushRateLimitHeaders(this.vendor.rateLimitPlan, this.tokens, headers)
  }

  /** timeouts.total passed (the deadline sweep): the attempt in flight ends, and no retry follows */
  deadlineReached (): void {
    this.deadlinePassed = true
    this.attempt?.abort(totalTimeoutError(this.vendor?.name ?? ''))
  }

  get clientIp (): string {
    return this.req.socket.remoteAddress ?? ''
  }
}
