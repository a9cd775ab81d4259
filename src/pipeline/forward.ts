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
import { learnBackpressure } from '../ratelimit/index.js'
import type { AttemptOutcome } from '../resilience/outcome.js'
import { parseRetryAfter } from '../resilience/retry-after.js'
import { retryDelay, shouldRetry, wasNeverSent } from '../resilience/retry-decision.js'
import { UpstreamAttempt, type AttemptResult } from '../proxy/attempt.js'
import { mapUpstreamError, totalTimeoutError } from '../proxy/upstream-errors.js'
import type { PreparedCall } from './context.js'
import { injectCredentials, reinject, upstreamHeaders } from './inject.js'
import { openCostTap, syncFromVendor, takeTokens } from './rate-limit.js'

const DEADLINE_OUTCOME: AttemptOutcome = Object.freeze({ kind: 'timeout', phase: 'headers' })

type RetryPlan = Extract<AttemptResult, { kind: 'retry' }>

/** How forwardCall reports the call's end: err when it failed before any answer was relayed. */
export type ForwardDone = (ctx: PreparedCall, err: unknown) => void

/**
 * Sends the call's attempts; `done` hears once how it ended. The common path
 * (one attempt, relayed) runs in undici's callbacks with no promise and no
 * closure; a retry (backoff, a renewed credential, another token) is rare and
 * may wait.
 */
export function forwardCall (ctx: PreparedCall, done: ForwardDone): void {
  const vendor = ctx.vendor
  vendor.retryBudget.recordFirstAttempt()
  if (ctx.body.kind === 'stream' && vendor.policy.logging.bodies) {
    // A streamed body is sent once: its head is kept for the log as it goes by.
    ctx.reqCapture = new BodyCapture(vendor.policy.logging.maxBodyBytes)
    ctx.body = { kind: 'stream', source: captured(ctx.body.source, ctx.reqCapture) }
  }
  ctx.forwardDone = done
  sendAttempt(ctx)
}

/** forwardCall as a promise, for a job's attempt (src/jobs/deliver.ts). */
export function forward (ctx: PreparedCall): Promise<void> {
  return new Promise((resolve, reject) => {
    forwardCall(ctx, (_ctx, err) => { if (err === undefined) resolve(); else reject(err) })
  })
}

function sendAttempt (ctx: PreparedCall): void {
  const vendor = ctx.vendor
  ctx.attempts++
  const body = ctx.body.kind === 'buffered' ? ctx.body.data : ctx.body.kind === 'stream' ? ctx.body.source : null
  const headers = upstreamHeaders(ctx)
  // the attempt's span, and the traceparent naming it as the vendor's parent
  ctx.trace?.attemptStarted(headers, ctx.method, ctx.attempts, vendor.name, vendor.policy.origin, ctx.upstreamPath, vendor.scrubber)
  new UpstreamAttempt(ctx, vendor, planAfterStatus, attemptEnded).start({
    path: ctx.upstreamPath,
    method: ctx.method,
    headers,
    body,
  })
}

function attemptEnded (ctx: PreparedCall, result: AttemptResult): void {
  let retry: RetryPlan | undefined
  // Runs inside undici's callbacks: whatever throws here ends the call, not undici's request.
  try {
    ctx.trace?.attemptEnded(result.kind === 'failed' ? result.err : undefined)
    if (result.kind === 'relayed') {
      endForward(ctx, undefined)
      return
    }
    retry = retryAfter(ctx, result)
  } catch (err) {
    endForward(ctx, err)
    return
  }
  if (retry === undefined) {
    endForward(ctx, undefined)
    return
  }
  prepareRetry(ctx, retry).then(retryReady, retryFailed.bind(undefined, ctx))
}

function endForward (ctx: PreparedCall, err: unknown): void {
  const done = ctx.forwardDone
  ctx.forwardDone = undefined
  done?.(ctx, err)
}

/** The retry an attempt that was not relayed leads to; throws the call's error when there is none. */
function retryAfter (ctx: PreparedCall, result: AttemptResult): RetryPlan | undefined {
  const vendor = ctx.vendor
  if (result.kind !== 'failed') return result.kind === 'retry' ? result : undefined
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
  return planned
}

/** Off the common path: a renewed credential, the backoff, and a token for the retry. */
async function prepareRetry (ctx: PreparedCall, retry: RetryPlan): Promise<PreparedCall> {
  const vendor = ctx.vendor
  if (retry.renewCredentials) {
    if (ctx.renewed) throw new SluiceError('credential_unavailable', `${vendor.name} refused the renewed credential`)
    ctx.renewed = true
    await vendor.credentials.renew(ctx.injection)
    reinject(ctx, await injectCredentials(ctx))
  } else {
    vendor.metrics.retry(retry.reason)
  }
  if (retry.delayMs > 0) await sleep(retry.delayMs)
  if (ctx.clientGone) throw new SluiceError('client_gone', 'the client went away')
  if (ctx.deadlinePassed) throw totalTimeoutError(vendor.name)
  await takeTokens(ctx)
  return ctx
}

function retryReady (ctx: PreparedCall): void {
  // inside a promise's callback: a throw here would be an unhandled rejection
  try {
    sendAttempt(ctx)
  } catch (err) {
    endForward(ctx, err)
  }
}

function retryFailed (ctx: PreparedCall, err: unknown): void {
  endForward(ctx, err)
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
  const outcome = statusOutcome(status)
  ctx.outcome = outcome

  if (status === 401 && policy.inject.oauth2 !== undefined && ctx.body.kind !== 'stream' && ctx.attempts === 1) {
    return { kind: 'retry', reason: 'unauthorized', delayMs: 0, renewCredentials: true }
  }
  const retry = planRetry(ctx, outcome, retryAfterMs)
  // Relayed: what the response says the call cost is read as it goes by.
  if (retry === undefined) ctx.costTap = openCostTap(ctx, (name) => rawHeader(raw, name))
  return retry
}

/** One frozen outcome per status code, made on first use: none per call. */
const STATUS_OUTCOMES: AttemptOutcome[] = []
function statusOutcome (status: number): AttemptOutcome {
  if (status < 100 || status > 999) return { kind: 'status', status }
  return (STATUS_OUTCOMES[status] ??= Object.freeze({ kind: 'status', status }))
}

function planRetry (ctx: PreparedCall, outcome: AttemptOutcome, retryAfterMs: number | undefined): RetryPlan | undefined {
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
