// The last stage, run once per call however it ended: give back what the call
// held (bulkhead slot, breaker admission, deadline timer, rate-limit tokens of
// an attempt never sent), count it, and write
// its one log line. The path and any bodies are scrubbed before they are logged.
import type { CallContext } from './context.js'
import { bodyRuleMatches } from '../resilience/breaker.js'
import { decodeBody } from '../resilience/decode-body.js'
import { writeRequestLine, type RequestLine } from '../observability/request-line.js'
import { rateLimitFields, returnUnsentTokens } from './rate-limit.js'

/** nginx's convention for "the client closed the connection before the answer" */
const CLIENT_CLOSED = 499

export function finish (ctx: CallContext): void {
  if (ctx.deadlineTimer !== undefined) clearTimeout(ctx.deadlineTimer)
  const runtime = ctx.runtime
  const vendor = ctx.vendor
  const seconds = (performance.now() - ctx.startedAt) / 1000
  const status = ctx.clientGone && !ctx.res.writableFinished ? CLIENT_CLOSED : ctx.status

  if (vendor !== undefined) {
    if (ctx.ruleBody !== undefined && vendor.policy.circuitBreaker.bodyRule !== undefined && bodyRuleFailed(ctx)) {
      ctx.failed = true
      vendor.metrics.upstreamError('body_rule')
    }
    // A response cut off by the vendor (not by a client hanging up) is the vendor's failure.
    const vendorCut = ctx.cutOff && ctx.relayed && !ctx.clientGone
    if (vendorCut) vendor.metrics.upstreamError(cutByTimeout(ctx.cause) ? 'timeout' : 'reset')
    if (ctx.breakerAdmitted) {
      if (ctx.clientGone && ctx.failed !== true) vendor.breaker.release()
      else if (ctx.failed === true || vendorCut) vendor.breaker.failure()
      else if (ctx.failed === false) vendor.breaker.success()
      else vendor.breaker.release()
    }
    if (ctx.inBulkhead) vendor.bulkhead.leave()
    returnUnsentTokens(ctx)
    vendor.metrics.request(ctx.method, status, seconds)
    vendor.leave()
  } else {
    runtime.metrics.vendor('none').request(ctx.method, status, seconds)
  }

  const logger = runtime.logger
  if (!logger.isLevelEnabled('info')) return
  const scrubber = vendor?.scrubber ?? runtime.defaultScrubber
  const line: RequestLine = {
    reqId: ctx.requestId,
    vendor: vendor?.name,
    method: ctx.method,
    path: scrubber.path(ctx.logPath),
    status,
    durationMs: Math.round(seconds * 1e4) / 10,
    upstreamMs: Math.round(ctx.upstreamMs * 10) / 10,
    attempts: ctx.attempts,
    waitMs: Math.round(ctx.waitMs),
    error: ctx.error?.code,
  }
  if (ctx.error !== undefined && ctx.cause !== undefined) line.cause = causeOf(ctx.cause)
  if (ctx.wouldLimit) line.wouldLimit = true
  if (ctx.cutOff) line.cutOff = true
  if (ctx.clientGone) line.clientGone = true
  if (vendor !== undefined) rateLimitFields(ctx, line)
  if (vendor?.policy.logging.bodies === true) {
    const max = vendor.policy.logging.maxBodyBytes
    if (ctx.body.kind === 'buffered') {
      line.reqBody = scrubber.body(ctx.body.data.subarray(0, max), ctx.headers?.contentType, ctx.header('content-encoding'), ctx.body.data.length)
    } else if (ctx.reqCapture !== undefined) {
      line.reqBody = scrubber.body(ctx.reqCapture.result(), ctx.headers?.contentType, ctx.header('content-encoding'), ctx.reqCapture.bytes)
    }
    if (ctx.resBodyLog !== undefined) line.resBody = scrubber.body(ctx.resBodyLog, ctx.resContentType, ctx.resContentEncoding, ctx.resBytes)
  }
  writeRequestLine(logger, line)
}

function cutByTimeout (cause: unknown): boolean {
  const code = (cause as { code?: unknown } | null)?.code
  return code === 'UND_ERR_BODY_TIMEOUT' || code === 'upstream_timeout'
}

function bodyRuleFailed (ctx: CallContext): boolean {
  const rule = ctx.vendor?.policy.circuitBreaker.bodyRule
  if (rule === undefined || ctx.ruleBody === undefined) return false
  const body = decodeBody(ctx.ruleBody, ctx.resContentEncoding)
  if (body === undefined) return false
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    return false
  }
  return bodyRuleMatches(rule, json)
}

/** A library error, reduced to what is safe and useful in a log: its code, never a value it may quote. */
function causeOf (cause: unknown): string | undefined {
  const c = cause as { code?: unknown, name?: unknown } | null
  if (c === null || typeof c !== 'object') return undefined
  if (typeof c.code === 'string') return c.code
  return typeof c.name === 'string' ? c.name : undefined
}
