// The order a call travels through sluice, in one place. Each stage lives in
// its own file in this folder; a stage refuses a call by throwing a
// SluiceError, which is answered with the catalogue's status and JSON body.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { SluiceError } from '../errors.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { CallContext } from './context.js'
import { requestIdOf } from './request-id.js'
import { checkHead, route, checkPath, checkAllowed } from './route.js'
import { checkDeclaredBody } from './request-body.js'
import { enterBulkhead, startDeadline, checkBreaker, admitBreaker } from './admit.js'
import { takeTokens } from './rate-limit.js'
import { checkCredentials, injectCredentials, prepareRequest } from './inject.js'
import { readRequestBody } from './request-body.js'
import { forward } from './forward.js'
import { answerError } from './respond.js'
import { finish } from './finish.js'
import { wantsJob, acceptJob } from '../jobs/accept.js'

// A stage that has nothing to wait for returns at once rather than a settled
// promise: each await costs a turn of the microtask queue on every call.
export async function handleCall (runtime: ProxyRuntime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = new CallContext(runtime, req, res)
  if (runtime.tracing !== undefined) ctx.trace = runtime.tracing.startCall(req.headers, ctx.method) // the call span
  runtime.callStarted()
  ;(res as CallResponse)[CALL] = ctx
  res.on('close', onClientClose)
  try {
    ctx.requestId = requestIdOf(req)
    checkHead(ctx) //                              one valid Host, not too many header lines    400 / 431
    route(ctx) //                                  vendor by Host, absolute target or prefix    404 / 400
    if (runtime.draining) throw new SluiceError('draining') // after routing: its line names the vendor   503
    const { path, query } = checkPath(ctx) //      never above the vendor's base path           400
    checkAllowed(ctx, path) //                     routes.allow; never CONNECT or TRACE         403
    checkDeclaredBody(ctx, ctx.vendor.policy.limits.bodyBytes) //                              413
    if (wantsJob(ctx)) return await acceptJob(ctx, path, query) // Prefer: respond-async: stored, 202  400 / 413 / 503
    enterBulkhead(ctx) //                          limits.concurrency                           503 overloaded
    startDeadline(ctx) //                          timeouts.total starts counting
    // Refusals that need no token come first: a call never sent takes none.
    checkBreaker(ctx) //                           breaker open, or half-open with its probe out 503 circuit_open
    checkCredentials(ctx) //                       a secret missing, an OAuth2 token failing    503 credential_unavailable
    // A cost estimated from the request body reads the body here (whole, up to limits.body).
    const tokens = takeTokens(ctx) //              rate limit: shared buckets, queue or refuse  429 / 503
    if (tokens !== undefined) await tokens
    // From here a refusal gives the tokens back (finish), and the next queued call moves up.
    admitBreaker(ctx) //                           circuit breaker; the half-open probe         503 circuit_open
    let injection = injectCredentials(ctx) //      secrets and OAuth2 token                     503 credential_unavailable
    if (injection instanceof Promise) injection = await injection
    prepareRequest(ctx, path, query, injection) // headers, idempotency key, upstream path
    // A request whose body broke at the parser while its call waited was answered then.
    if (ctx.answered) throw ctx.error
    const body = readRequestBody(ctx) //           buffered for replay, or streamed             408 / 413
    if (body !== undefined) await body
    await forward(ctx, injection) //               attempts, retries, relay                     502 / 504
  } catch (err) {
    answerError(ctx, err)
  } finally {
    finishCall(ctx)
  }
}

function finishCall (ctx: CallContext): void {
  try {
    finish(ctx) //                                 release, metrics, one log line
  } finally {
    ctx.runtime.callEnded() //                     a drain waits for this, whatever happened
  }
}

/** A request refused before the pipeline could take it (fastify found its URL malformed): answered, counted, logged. */
export function refuseCall (runtime: ProxyRuntime, req: IncomingMessage, res: ServerResponse, err: SluiceError): void {
  const ctx = new CallContext(runtime, req, res)
  runtime.callStarted()
  ctx.requestId = requestIdOf(req)
  answerError(ctx, err)
  finishCall(ctx)
}

/**
 * The HTTP parser refused the rest of a call's request (bad chunk framing):
 * the call is answered `err` at once, or cut off if its answer already began,
 * and goes no further. False when `res` is no call of the pipeline, or one already answered.
 */
export function refuseInFlight (res: ServerResponse, err: SluiceError): boolean {
  const ctx = (res as CallResponse)[CALL]
  if (ctx === undefined || ctx.answered || res.writableFinished) return false
  answerError(ctx, err)
  ctx.abortAttempt?.(err)
  // node considers the request over once its answer is written, and never ends
  // it: a stage still reading the body must see it close, after the answer left.
  res.once('close', destroyRequest)
  return true
}

function destroyRequest (this: CallResponse): void {
  this[CALL]?.req.destroy()
}

// The call rides on its response, so one shared 'close' listener serves every
// call (no bound function or once-wrapper per call).
const CALL = Symbol('sluice.call')
interface CallResponse extends ServerResponse { [CALL]?: CallContext }

function onClientClose (this: CallResponse): void {
  const ctx = this[CALL]
  if (ctx === undefined || this.writableFinished) return
  ctx.clientGone = true
  ctx.cancelWait?.() //                            a queued call leaves the queue at once
  ctx.abortAttempt?.(new Error('client closed the connection'))
}
