// Stage: attempts to the vendor until one is relayed, with retries where the
// policy allows them and nothing can be sent twice that must not be:
//   - a retry needs attempts left, a condition in retry.on, a request the
//     vendor can safely see twice (idempotent, or carrying an idempotency key;
//     or never sent at all), its body still at hand, room in the retry budget,
//     and a wait that ends before the call's deadline;
//   - a retry takes a rate-limit token like any call (the vendor counts it);
//   - a 401 from a vendor with oauth2 renews the token once and replays.
import { SluiceError } from '../errors.js'
import { BodyCapture } from '../observability/body-capture.js'
import type { Injection } from '../credentials/index.js'
import { learnBackpressure } from '../ratelimit/index.js'
import type { AttemptOutcome } from '../resilience/outcome.js'
import { parseRetryAfter } from '../resilience/retry-after.js'
import { retryDelay, shouldRetry, wasNeverSent } from '../resilience/retry-decision.js'
import { UpstreamAttempt, type AttemptResult } from '../proxy/attempt.js'
import { mapUpstreamError, totalTimeoutError } from '../proxy/upstream-errors.js'
import type { PreparedCall } from './context.js'
import { injectCredentials, upstreamHeaders } from './inject.js'
import { openCostTap, syncFromVendor, takeTokens } from './rate-limit.js'

const DEADLINE_OUTCOME: AttemptOutcome = Object.freeze({ kind: 'timeout', phase: 'headers' })

export async function forward (ctx: PreparedCall, injection: Injection): Promise<void> {
  const vendor = ctx.vendor
  vendor.retryBudget.recordFirstAttempt()
  if (ctx.body.kind === 'stream' && vendor.policy.logging.bodies) {
    // A streamed body is sent once: its head is kept for the log as it goes by.
    ctx.reqCapture = new BodyCapture(vendor.policy.logging.maxBodyBytes)
    ctx.body = { kind: 'stream', source: captured(ctx.body.source, ctx.reqCapture) }
  }
  let renewed = false
  for (;;) {
    ctx.attempts++
    const body = ctx.body.kind === 'buffered' ? ctx.body.data : ctx.body.kind === 'stream' ? ctx.body.source : null
    const headers = upstreamHeaders(ctx, injection)
    // the attempt's span, and the traceparent naming it as the vendor's parent
    ctx.trace?.attemptStarted(headers, ctx.method, ctx.attempts, vendor.name, vendor.policy.origin, ctx.upstreamPath, vendor.scrubber)
    const result = await new UpstreamAttempt(ctx, vendor, planAfterStatus).start({
      path: ctx.upstreamPath,
      method: ctx.method,
      headers,
      body,
    })
    ctx.abortAttempt = undefined
    ctx.trace?.attemptEnded(result.kind === 'failed' ? result.err : undefined)
    if (result.kind === 'relayed') return

    let retry: AttemptResult
    if (result.kind === 'failed') {
      const failure = mapUpstreamError(result.err, vendor.name)
      if (ctx.clientGone) throw failure.error
      if (failure.kind !== undefined) vendor.metrics.upstreamError(failure.kind)
      if (failure.outcome === undefined) {
        if (ctx.deadlinePassed) {
          // timeouts.total cut the attempt: the vendor did not answer in time.
          vendor.metrics.upstreamError('timeout')
          ctx.outcome = DEADLINE_OUTCOME
        }
        throw failure.error
      }
      ctx.outcome = failure.outcome
      const planned = planRetry(ctx, failure.outcome, undefined)
      if (planned === undefined) throw failure.error
      retry = planned
    } else {
      retry = result
    }
    if (retry.kind !== 'retry') return

    if (retry.renewCredentials) {
      if (renewed) throw new SluiceError('credential_unavailable', `${vendor.name} refused the renewed credential`)
      renewed = true
      await vendor.credentials.renew(injection)
      injection = await injectCredentials(ctx)
    } else {
      vendor.metrics.retry(retry.reason)
    }
    if (retry.delayMs > 0) await sleep(retry.delayMs)
    if (ctx.clientGone) throw new SluiceError('client_gone', 'the client went away')
    if (ctx.deadlinePassed) throw totalTimeoutError(vendor.name)
    await takeTokens(ctx)
  }
}

/**
 * At response headers: learn the vendor's backpressure, and decide whether to
 * swallow this response and try again. Runs inside the undici handler, so it
 * must not wait.
 */
function planAfterStatus (ctx: PreparedCall, status: number, raw: Buffer[]): AttemptResult | undefined {
  const vendor = ctx.vendor
  const policy = vendor.policy
  const rl = policy.rateLimit
  let retryAfterMs: number | undefined
  if (status === 429 || status === 503) {
    retryAfterMs = parseRetryAfter(rawHeader(raw, 'retry-after'), Date.now())
  }
  if (rl.buckets.length > 0 && (status === 429 || status === 503 || rl.upstream.remainingHeader !== undefined)) {
    const until = learnBackpressure(policy, status, (name) => rawHeader(raw, name), Date.now())
    if (until !== undefined) ctx.runtime.limiter.pause(vendor.name, until)
    if (rl.upstream.sync !== undefined) syncFromVendor(ctx, rawHeader(raw, rl.upstream.remainingHeader as string))
  }
  ctx.trace?.attemptStatus(status)
  const outcome: AttemptOutcome = { kind: 'status', status }
  ctx.outcome = outcome

  if (status === 401 && policy.inject.oauth2 !== undefined && ctx.body.kind !== 'stream' && ctx.attempts === 1) {
    return { kind: 'retry', reason: 'unauthorized', delayMs: 0, renewCredentials: true }
  }
  const retry = planRetry(ctx, outcome, retryAfterMs)
  // Relayed: what the response says the call cost is read as it goes by.
  if (retry === undefined) ctx.costTap = openCostTap(ctx, (name) => rawHeader(raw, name))
  return retry
}

function planRetry (ctx: PreparedCall, outcome: AttemptOutcome, retryAfterMs: number | undefined): AttemptResult | undefined {
  const vendor = ctx.vendor
  const retry = vendor.policy.retry
  if (ctx.jobAttempt || ctx.attempts >= retry.attempts || ctx.clientGone || ctx.deadlinePassed) return undefined
  if (!shouldRetry(outcome, retry)) return undefined
  if (ctx.body.kind === 'stream') return undefined
  if (!ctx.replayable && !wasNeverSent(outcome)) return undefined
  const delayMs = retryDelay(retry, ctx.attempts, retryAfterMs, Date.now(), ctx.deadline)
  if (delayMs === undefined || !vendor.retryBudget.tryRetry()) return undefined
  return { kind: 'retry', reason: reasonOf(outcome), delayMs, renewCredentials: false }
}

function reasonOf (outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'status': return String(outcome.status)
    case 'timeout': return 'timeout'
    case 'connect-error': return 'connect-error'
    case 'reset': return 'reset'
  }
}

/** One header from undici's raw [name, value, ...] buffers; `name` is lower case. */
function rawHeader (raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as Buffer
    if (n.length === name.length && n.toString('latin1').toLowerCase() === name) return (raw[i + 1] as Buffer).toString('latin1')
  }
  return undefined
}

/** The chunks of `source`, unchanged, each also shown to `capture`. */
async function * captured (source: AsyncIterable<Buffer>, capture: BodyCapture): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    capture.push(chunk)
    yield chunk
  }
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
