// Answers sluice gives itself (README "What sluice answers itself"): JSON body, x-sluice-error,
// x-request-id, Retry-After where it has one. Nothing else is ever written by
// sluice in place of an upstream answer.
import { STATUS_CODES, type ServerResponse } from 'node:http'
import { SluiceError, errorBody, isSluiceError } from '../errors.js'
import type { CallContext } from './context.js'
import { drainAfterAnswer } from '../proxy/linger.js'

export function toSluiceError (err: unknown): SluiceError {
  if (isSluiceError(err)) return err
  // A bug of ours: never show its message to the client.
  return new SluiceError('internal', undefined, { cause: err })
}

export function answerError (ctx: CallContext, err: unknown): void {
  // The first answer stands: a stage that fails after sluice answered (a body
  // read ended by the close that followed the answer) changes nothing.
  if (ctx.answered) return
  const e = toSluiceError(err)
  ctx.error = e
  if (e.cause !== undefined) ctx.cause = e.cause
  if (e.code === 'internal') logDefect(ctx, e.cause)
  const res = ctx.res
  if (ctx.relayed || res.headersSent) {
    // The upstream response already started: the only honest signal left is a cut-off.
    ctx.cutOff = true
    res.destroy()
    return
  }
  ctx.status = e.status
  // Nobody is left to read an answer (finish logs 499 client_gone).
  if (e.code === 'client_gone' || res.destroyed || res.writableEnded) return
  ctx.answered = true
  try {
    // A body still arriving is drained, so the client can read the answer (not for a client that stalled).
    writeError(res, e, ctx.vendor?.name, ctx.requestId, ctx.runtime.draining || (e.code === 'client_timeout' || !drainAfterAnswer(ctx.req, res)))
  } catch (writeErr) {
    // Nothing sensible can be sent any more; the client must not wait for it.
    ctx.cause ??= writeErr
    res.destroy()
  }
}

/** A defect: its stack goes to the log, scrubbed like any text, and never to the client. */
export function logDefect (ctx: CallContext, cause: unknown): void {
  const scrub = (ctx.vendor?.scrubber ?? ctx.runtime.defaultScrubber).text
  const defect = cause instanceof Error
    ? { type: cause.name, message: scrub(cause.message), stack: scrub(cause.stack ?? '') }
    : { type: typeof cause }
  ctx.runtime.logger.error({ reqId: ctx.requestId, vendor: ctx.vendor?.name, defect }, 'internal error: a defect in sluice')
}

export function writeError (res: ServerResponse, e: SluiceError, vendor: string | undefined, requestId: string, closeConnection: boolean): void {
  const body = errorBody(e, vendor, requestId)
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-sluice-error': e.code,
    'x-request-id': requestId,
    'cache-control': 'no-store',
  }
  if (e.retryAfterSec !== undefined) headers['retry-after'] = e.retryAfterSec
  // A request whose body was not read cannot share its connection with the next one.
  if (closeConnection) headers.connection = 'close'
  // The reason phrase is given explicitly: a failed relay may have left the
  // vendor's (invalid) one on the response.
  res.writeHead(e.status, STATUS_CODES[e.status], headers)
  res.end(body)
}
