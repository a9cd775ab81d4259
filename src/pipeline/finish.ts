// The last stage, run once per call however it ended: give back what the call
// held (bulkhead slot, breaker admission, deadline timer, rate-limit tokens of
// an attempt never sent), count it, and write
// its one log line. The path and any bodies are scrubbed before they are logged.
import type { SluiceError } from '../errors.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import type { VendorRuntime } from '../runtime/vendor-runtime.js'
import type { CallContext } from './context.js'
import { judgeCall } from '../resilience/breaker.js'
import { logCall, type LineExtras } from '../observability/request-line.js'
import { returnUnsentTokens } from './rate-limit.js'
import { loggedKeys } from '../ratelimit/keys.js'

/** nginx's convention for "the client closed the connection before the answer" */
const CLIENT_CLOSED = 499

export function finish (ctx: CallContext): void {
  const runtime = ctx.runtime
  runtime.deadlines.unwatch(ctx)
  const vendor = ctx.vendor
  const seconds = (performance.now() - ctx.startedAt) / 1000
  const status = ctx.clientGone && !ctx.res.writableFinished ? CLIENT_CLOSED : ctx.status

  if (vendor !== undefined) {
    const verdict = judgeCall(vendor.policy.circuitBreaker, ctx.outcome, ctx.ruleBody, ctx.resContentEncoding)
    if (verdict === 'body_rule') vendor.metrics.upstreamError('body_rule')
    const failed = verdict === undefined ? undefined : verdict !== 'success'
    // A response cut off by the vendor (not by a client hanging up) is the vendor's failure.
    const vendorCut = ctx.cutOff && ctx.relayed && !ctx.clientGone
    if (vendorCut) vendor.metrics.upstreamError(cutByTimeout(ctx.cause) ? 'timeout' : 'reset')
    if (ctx.breakerAdmitted) {
      if (ctx.clientGone && failed !== true) vendor.breaker.release()
      else if (failed === true || vendorCut) vendor.breaker.failure()
      else if (failed === false) vendor.breaker.success()
      else vendor.breaker.release()
    }
    if (ctx.inBulkhead) vendor.bulkhead.leave()
    returnUnsentTokens(ctx)
    vendor.metrics.request(ctx.method, status, seconds)
    vendor.leave()
  } else {
    runtime.metrics.vendor('none').request(ctx.method, status, seconds)
  }

  // whatever stage noticed it, a client gone before the end is the call's outcome
  const error = status === CLIENT_CLOSED ? 'client_gone' : ctx.error?.code
  const scrubber = vendor?.scrubber ?? runtime.defaultScrubber
  ctx.trace?.end(status, vendor?.name, ctx.attempts, error, ctx.logPath, scrubber)

  const logger = runtime.logger
  if (!logger.isLevelEnabled('info')) return
  const cause = ctx.error !== undefined && ctx.cause !== undefined ? causeOf(ctx.cause) : undefined
  const extras = vendor === undefined ? undefined : lineExtras(ctx, vendor)
  logCall(logger, ctx, vendor?.name, scrubber.path(ctx.logPath), status, Math.round(seconds * 1e4) / 10, error, cause, extras)
}

/** The log line's hashed bucket keys and scrubbed bodies, when the policy has them logged. */
function lineExtras (ctx: CallContext, vendor: VendorRuntime): LineExtras | undefined {
  const keys = ctx.bucketKeys !== undefined ? loggedKeys(vendor.policy, ctx.bucketKeys) : undefined
  if (vendor.policy.logging.bodies !== true) return keys === undefined ? undefined : { keys }
  const line: LineExtras = { keys }
  const scrubber = vendor.scrubber
  const max = vendor.policy.logging.maxBodyBytes
  if (ctx.body.kind === 'buffered') {
    line.reqBody = scrubber.body(ctx.body.data.subarray(0, max), ctx.headers?.contentType, ctx.header('content-encoding'), ctx.body.data.length)
  } else if (ctx.reqCapture !== undefined) {
    line.reqBody = scrubber.body(ctx.reqCapture.result(), ctx.headers?.contentType, ctx.header('content-encoding'), ctx.reqCapture.bytes)
  }
  if (ctx.resBodyLog !== undefined) line.resBody = scrubber.body(ctx.resBodyLog, ctx.resContentType, ctx.resContentEncoding, ctx.resBytes)
  return line
}

/** A request answered at the listener, outside the pipeline (refused by the HTTP parser, a CONNECT). */
export interface ListenerCall {
  requestId: string
  /** '-' when the parser refused the request before its method was known */
  method: string
  /** the request target, or '-' */
  path: string
  vendor: VendorRuntime | undefined
  /** performance.now() when sluice learnt of it */
  startedAt: number
}

/** Counts and logs a listener answer like a call: `written` false when the client was already gone. */
export function finishListenerCall (runtime: ProxyRuntime, call: ListenerCall, err: SluiceError, written: boolean): void {
  const seconds = (performance.now() - call.startedAt) / 1000
  const status = written ? err.status : CLIENT_CLOSED
  const vendor = call.vendor
  ;(vendor?.metrics ?? runtime.metrics.vendor('none')).request(call.method, status, seconds)
  const logger = runtime.logger
  if (!logger.isLevelEnabled('info')) return
  const path = (vendor?.scrubber ?? runtime.defaultScrubber).path(call.path)
  logCall(logger, call, vendor?.name, path, status, Math.round(seconds * 1e4) / 10, written ? err.code : 'client_gone')
}

function cutByTimeout (cause: unknown): boolean {
  const code = (cause as { code?: unknown } | null)?.code
  return code === 'UND_ERR_BODY_TIMEOUT' || code === 'upstream_timeout'
}

/** A library error, reduced to what is safe and useful in a log: its code, never a value it may quote. */
function causeOf (cause: unknown): string | undefined {
  const c = cause as { code?: unknown, name?: unknown } | null
  if (c === null || typeof c !== 'object') return undefined
  if (typeof c.code === 'string') return c.code
  return typeof c.name === 'string' ? c.name : undefined
}
