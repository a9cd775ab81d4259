// The order a call travels through sluice, in one place. Each stage lives in
// its own file in this folder; a stage refuses a call by throwing a
// SluiceError, which is answered with the catalogue's status and JSON body.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { SluiceError } from '../errors.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { CallContext, type PreparedCall, type RoutedCall } from './context.js'
import type { Injection } from '../credentials/index.js'
import { requestIdOf } from './request-id.js'
import { checkHead, route, checkPath, checkAllowed } from './route.js'
import { checkDeclaredBody } from './request-body.js'
import { enterBulkhead, startDeadline, checkBreaker, admitBreaker } from './admit.js'
import { takeTokens } from './rate-limit.js'
import { checkCredentials, injectCredentials, prepareRequest } from './inject.js'
import { readRequestBody } from './request-body.js'
import { forwardCall } from './forward.js'
import { answerError, logDefect } from './respond.js'
import { finish } from './finish.js'
import { wantsJob, acceptJob } from '../jobs/accept.js'

/**
 * A stage reads and fills the call. It returns undefined when the call goes on
 * at once, a promise when the call waits (the next stage runs once it
 * settles), or HANDED_OFF when it took the call over and ends it itself.
 * Refusal: throwing a SluiceError (or a rejected promise).
 */
type Stage = (ctx: RoutedCall) => void | Promise<unknown> | typeof HANDED_OFF
const HANDED_OFF = Symbol('handed off')

// The order, one stage a line; what each may answer on the right. Before
// routing (checkHead, route) the call has no vendor; from there on it does.
const STAGES: readonly Stage[] = [
  checkHead as Stage, //                           one valid Host, not too many header lines    400 / 431
  route as Stage, //                               vendor by Host, absolute target or prefix    404 / 400
  refuseWhileDraining, //                          after routing: its line names the vendor     503 draining
  checkPathAndMethod, //                           never above the base path; routes.allow;     400 / 403
  //                                               never CONNECT or TRACE
  checkBodyLimit, //                               a declared body over limits.body             413
  asyncJob, //                                     Prefer: respond-async: stored, 202           400 / 413 / 503
  enterBulkhead, //                                limits.concurrency                           503 overloaded
  startDeadline, //                                timeouts.total starts counting
  // Refusals that need no token come first: a call never sent takes none.
  checkBreaker, //                                 breaker open, or half-open with its probe out 503 circuit_open
  checkCredentials, //                             a secret missing, an OAuth2 token failing    503 credential_unavailable
  // A cost estimated from the request body reads the body here (whole, up to limits.body).
  takeTokens, //                                   rate limit: shared buckets, queue or refuse  429 / 503
  // From here a refusal gives the tokens back (finish), and the next queued call moves up.
  admitBreaker, //                                 circuit breaker; the half-open probe         503 circuit_open
  injectAndPrepare, //                             secrets and OAuth2 token; headers,           503 credential_unavailable
  //                                               idempotency key, upstream path
  readBody, //                                     buffered for replay, or streamed             408 / 413
  startForward, //                                 attempts, retries, relay                     502 / 504
]

/**
 * Runs a call through the stages and finishes it, however it ended. A stage
 * with nothing to wait for returns at once, so a call that waits for nothing
 * (a leased token, credentials at hand, no body) allocates no promise and no
 * closure: it runs to the attempt in one go, and the attempt's end finishes it.
 */
export function handleCall (runtime: ProxyRuntime, req: IncomingMessage, res: ServerResponse): void {
  const ctx = new CallContext(runtime, req, res)
  runtime.callStarted()
  ;(res as CallResponse)[CALL] = ctx
  res.on('close', onClientClose)
  try {
    if (runtime.tracing !== undefined) ctx.trace = runtime.tracing.startCall(req.headers, ctx.method) // the call span
    ctx.requestId = requestIdOf(req)
  } catch (err) {
    endCall(ctx, err)
    return
  }
  runStages(ctx as RoutedCall)
}

function runStages (ctx: RoutedCall): void {
  for (let i = ctx.stage; i < STAGES.length; i++) {
    let next
    try {
      next = (STAGES[i] as Stage)(ctx)
    } catch (err) {
      endCall(ctx, err)
      return
    }
    if (next === undefined) continue
    if (next === HANDED_OFF) return
    // Off the common path: the call waits (a queued token, a credential being
    // fetched, a body being read), and goes on from the next stage.
    ctx.stage = i + 1
    next.then(
      (value) => { if (value === CALL_OVER) endCall(ctx, undefined); else runStages(ctx) },
      (err) => { endCall(ctx, err) }
    )
    return
  }
  endCall(ctx, undefined)
}

/** A stage's promise resolved with this: the call is over (answered by the stage), finish it. */
const CALL_OVER = Symbol('call over')

function refuseWhileDraining (ctx: RoutedCall): void {
  if (ctx.runtime.draining) throw new SluiceError('draining')
}

function checkPathAndMethod (ctx: RoutedCall): void {
  const { path, query } = checkPath(ctx)
  ctx.path = path
  ctx.query = query
  checkAllowed(ctx, path)
}

function checkBodyLimit (ctx: RoutedCall): void {
  checkDeclaredBody(ctx, ctx.vendor.policy.limits.bodyBytes)
}

function asyncJob (ctx: RoutedCall): Promise<typeof CALL_OVER> | undefined {
  if (!wantsJob(ctx)) return undefined
  return acceptJob(ctx, ctx.path, ctx.query).then(() => CALL_OVER)
}

function injectAndPrepare (ctx: RoutedCall): Promise<void> | undefined {
  const injection = injectCredentials(ctx)
  if (injection instanceof Promise) return injection.then(i => { prepare(ctx, i) })
  prepare(ctx, injection)
  return undefined
}

function prepare (ctx: RoutedCall, injection: Injection): void {
  prepareRequest(ctx, ctx.path, ctx.query, injection)
  // A request whose body broke at the parser while its call waited was answered then.
  if (ctx.answered) throw ctx.error
}

function readBody (ctx: RoutedCall): Promise<void> | undefined {
  return readRequestBody(ctx)
}

function startForward (ctx: RoutedCall): typeof HANDED_OFF {
  forwardCall(ctx as PreparedCall, endCall)
  return HANDED_OFF
}

/** The call is over: answered with err's refusal when it failed before any answer, then finished. */
function endCall (ctx: CallContext, err: unknown): void {
  try {
    try {
      if (err !== undefined) answerError(ctx, err)
    } finally {
      finishCall(ctx)
    }
  } catch (defect) {
    // A defect at the very end (the log line, the metrics) runs inside
    // undici's or node's callbacks: logged, and the process stays up.
    logDefect(ctx, defect)
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
  ctx.attempt?.abort(err)
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
  ctx.attempt?.abort(new Error('client closed the connection'))
}
