// One attempt to reach the vendor, as an undici dispatch handler.
//
// This speaks undici's original handler protocol (onConnect, onHeaders with raw
// header buffers, onData, onComplete, onError) because undici 7's HTTP/1 client
// is built on it: a handler in the newer controller style is wrapped and its
// headers parsed into an object on every response. See bench/README.md.
//
// Whether a response is relayed or swallowed for a retry is decided the moment
// its headers arrive; once relayed, it reaches the client byte for byte with
// backpressure, and a body cut off upstream is cut off for the client too.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { errors, type Dispatcher } from 'undici'
import { BodyCapture } from '../observability/body-capture.js'
import type { VendorMetrics } from '../observability/metrics.js'
import type { CostTap } from '../ratelimit/index.js'
import { upstreamHeadersForClient, type ResponseHeaderSink } from './headers.js'
import { drainAfterAnswer } from './linger.js'
import { writeResponseHead } from './response-head.js'

/** How an attempt ended. */
export type AttemptResult =
  /** the response went to the client (whole, or cut off) */
  | { kind: 'relayed' }
  /** a response we swallow to try again after delayMs */
  | { kind: 'retry', reason: string, delayMs: number, renewCredentials: boolean }
  /** failed before any response was relayed */
  | { kind: 'failed', err: Error }

const RELAYED: AttemptResult = Object.freeze({ kind: 'relayed' })
/** the most of a JSON response body kept to evaluate a body rule */
const BODY_RULE_BYTES = 64 * 1024

/**
 * What an attempt reads of the call it serves, and the fields where it
 * reports what happened. The pipeline's CallContext is one; so is a plain
 * object in a test.
 */
export interface AttemptCall extends ResponseHeaderSink {
  readonly requestId: string
  /** the client's request: once relayed, what it still sends is drained */
  readonly req: IncomingMessage
  /** the client's response: the upstream response is relayed onto it */
  readonly res: ServerResponse
  /** set while an attempt runs: abort() ends it (deadline, client gone, client stall) */
  attempt: AttemptHandle | undefined
  /** reported: ms waited for response headers, summed over attempts */
  upstreamMs: number
  /** reported once relayed: the status sent to the client */
  status: number
  /** reported: the upstream response started reaching the client */
  relayed: boolean
  /** reported: response body bytes relayed */
  resBytes: number
  /** reported: the relayed body broke midway (cause: why) */
  cutOff: boolean
  cause: unknown
  /** reported: the start of a JSON 2xx body, when the vendor reads one for its breaker */
  ruleBody: Buffer | undefined
  /** reported: the head of the response body, when bodies are logged */
  resBodyLog: Buffer | undefined
  /** sees every relayed body chunk: what the response says the call cost (rate-limit costs) */
  readonly costTap: CostTap | undefined
  /** adds sluice's own headers to the relayed response (the rate-limit headers) */
  addResponseHeaders (headers: string[]): void
}

/** The vendor side of an attempt, fixed per policy load (VendorRuntime is one). */
export interface AttemptVendor {
  readonly pool: Dispatcher
  readonly metrics: Pick<VendorMetrics, 'upstreamDuration' | 'upstreamError'>
  readonly policy: { readonly timeouts: { readonly readMs: number } }
  /** every spelling of the upstream base URL that Location/Link may carry */
  readonly upstreamUrls: readonly string[]
  /** a circuit breaker body rule reads the start of JSON 2xx response bodies */
  readonly readsRuleBody: boolean
  /** the most response body bytes kept for the log, or undefined when bodies are not logged */
  readonly logBodyBytes: number | undefined
}

/** What a call holds of its attempt in flight. */
export interface AttemptHandle {
  abort (err: Error): void
}

/**
 * Hears how an attempt ended, once. Called from undici's callbacks (or, for an
 * attempt ended before it had a connection, on the next tick): a module-level
 * function, so an attempt allocates no closure and no promise.
 */
export type AttemptEnded<C extends AttemptCall> = (call: C, result: AttemptResult) => void

/** Decides, at response headers, whether to swallow this response and retry. */
export type StatusPlanner<C extends AttemptCall> = (call: C, status: number, raw: Buffer[]) => AttemptResult | undefined

export interface AttemptRequest {
  path: string
  method: string
  headers: string[]
  body: Buffer | AsyncIterable<Buffer> | null
}

export class UpstreamAttempt<C extends AttemptCall = AttemptCall> implements Dispatcher.DispatchHandler, AttemptHandle {
  private ended = false
  private abortFn: ((err: Error) => void) | undefined
  private pendingAbort: Error | undefined
  /** ended by abort(): its error wins over a retry planned at headers */
  private aborted = false
  private retry: AttemptResult | undefined
  private ruleCapture: BodyCapture | undefined
  private logCapture: BodyCapture | undefined
  private resume: (() => void) | undefined
  private readonly sentAt = performance.now()
  /** when undici finished writing the request: timeouts.read counts from here */
  private requestSentAt = 0
  /** the read timeout, once a 1xx has restarted undici's own */
  private interimTimer: NodeJS.Timeout | undefined

  constructor (
    private readonly ctx: C,
    private readonly vendor: AttemptVendor,
    private readonly planStatus: StatusPlanner<C>,
    private readonly onEnd: AttemptEnded<C>
  ) {}

  start (req: AttemptRequest): void {
    this.ctx.attempt = this
    this.vendor.pool.dispatch({
      path: req.path,
      method: req.method,
      headers: req.headers,
      // undici streams any async iterable; its typings name only Readable.
      body: req.body as Buffer | null,
    }, this)
  }

  /** Ends the attempt with err (total deadline, client gone, client stall). */
  abort (err: Error): void {
    if (this.ended) return
    this.aborted = true
    if (this.abortFn !== undefined) {
      this.abortFn(err)
      return
    }
    // undici calls onConnect only once it has a connection to write on, so a
    // dial that hangs would hold the call until timeouts.connect, past the
    // deadline. Nothing was sent: end the attempt now; onConnect aborts the
    // request if a connection turns up later.
    this.pendingAbort = err
    // later, not inside the caller (a 'close' listener, the deadline sweep)
    this.ended = true
    process.nextTick(endLater, this, { kind: 'failed', err })
  }

  /** @internal the attempt's end, deferred by abort() */
  endNow (result: AttemptResult): void {
    this.ctx.attempt = undefined
    this.onEnd(this.ctx, result)
  }

  private settle (result: AttemptResult): void {
    if (this.ended) return
    this.ended = true
    this.endNow(result)
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abortFn = abort
    if (this.pendingAbort !== undefined) abort(this.pendingAbort)
  }

  onRequestSent (): void {
    this.requestSentAt = performance.now()
  }

  onHeaders (status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) {
      this.holdReadTimeout()
      return true
    }
    this.clearInterimTimer()
    const ctx = this.ctx
    const vendor = this.vendor
    const ms = performance.now() - this.sentAt
    ctx.upstreamMs += ms
    vendor.metrics.upstreamDuration.observe(ms / 1000)
    if (status >= 500) vendor.metrics.upstreamError('5xx')

    const retry = this.planStatus(ctx, status, raw)
    if (retry !== undefined) {
      // Read and drop this response's body, so its connection can serve the retry.
      this.retry = retry
      return true
    }

    const headers = upstreamHeadersForClient(raw, ctx.requestId, vendor.upstreamUrls, ctx)
    // what llhttp parsed needs no second check; x-request-id (pushed last by
    // upstreamHeadersForClient) and the headers sluice adds after it do
    const fromParser = headers.length - 2
    ctx.addResponseHeaders(headers)
    // The head is built once, as node's writeHead would (response-head.ts).
    // It throws on a header node will not send; undici then ends the attempt
    // through onError, and nothing has reached the client yet.
    writeResponseHead(ctx.res, status, statusText, headers, fromParser)
    ctx.status = status
    ctx.relayed = true
    if (vendor.readsRuleBody && status < 300 && isJson(ctx.resContentType)) {
      this.ruleCapture = new BodyCapture(BODY_RULE_BYTES)
    }
    if (vendor.logBodyBytes !== undefined) this.logCapture = new BodyCapture(vendor.logBodyBytes)
    this.resume = resume
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.retry !== undefined) return true
    const ctx = this.ctx
    ctx.resBytes += chunk.length
    this.ruleCapture?.push(chunk)
    this.logCapture?.push(chunk)
    const written = ctx.res.write(chunk)
    ctx.costTap?.push(chunk)
    if (written) return true
    // The client reads slower than the vendor sends: pause the upstream until it catches up.
    ctx.res.once('drain', this.resume as () => void)
    return false
  }

  onComplete (): void {
    this.clearInterimTimer()
    if (this.retry !== undefined) {
      this.settle(this.retry)
      return
    }
    this.finishCaptures()
    const ctx = this.ctx
    ctx.res.end()
    // The vendor answered before reading the whole body (a 401 to a large
    // upload): the client may still be sending it.
    if (!ctx.req.complete) drainAfterAnswer(ctx.req, ctx.res)
    this.settle(RELAYED)
  }

  onError (err: Error): void {
    this.clearInterimTimer()
    if (this.retry !== undefined && !this.aborted) {
      this.settle(this.retry)
      return
    }
    const ctx = this.ctx
    if (!ctx.relayed) {
      this.settle({ kind: 'failed', err })
      return
    }
    // The body broke after the client got headers: cut the client off too, so
    // the response can never look complete.
    ctx.cutOff = true
    ctx.cause = err
    this.finishCaptures()
    ctx.res.destroy()
    this.settle(RELAYED)
  }

  /**
   * undici restarts its headers timeout on every 1xx, so a vendor sending
   * 103 Early Hints forever would hold the call until timeouts.total. At the
   * first 1xx after the request went out, the read timeout's remainder is
   * timed here instead: the read phase runs from the request's send to the
   * final response headers.
   */
  private holdReadTimeout (): void {
    if (this.interimTimer !== undefined || this.requestSentAt === 0) return
    const readMs = this.vendor.policy.timeouts.readMs
    const left = readMs - (performance.now() - this.requestSentAt)
    this.interimTimer = setTimeout(readTimedOut, Math.max(0, left), this)
  }

  /** @internal the interim read timer fired */
  readTimedOut (): void {
    this.interimTimer = undefined
    this.abortFn?.(new errors.HeadersTimeoutError())
  }

  private clearInterimTimer (): void {
    if (this.interimTimer === undefined) return
    clearTimeout(this.interimTimer)
    this.interimTimer = undefined
  }

  private finishCaptures (): void {
    const ctx = this.ctx
    if (this.ruleCapture !== undefined && this.ruleCapture.bytes <= BODY_RULE_BYTES) ctx.ruleBody = this.ruleCapture.result()
    if (this.logCapture !== undefined) ctx.resBodyLog = this.logCapture.result()
  }
}

function endLater (attempt: UpstreamAttempt<AttemptCall>, result: AttemptResult): void {
  attempt.endNow(result)
}

function readTimedOut (attempt: { readTimedOut: () => void }): void {
  attempt.readTimedOut()
}

function isJson (contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.includes('json')
}
