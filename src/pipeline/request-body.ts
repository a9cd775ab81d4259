// Stage: the request body. A body up to retry.maxBufferedBody is read whole, so
// every attempt sends the same bytes and a retry is possible; a larger one
// streams to the vendor as it arrives and is never retried (nothing to replay).
// Either way limits.body is enforced (413) and a client that stalls longer than
// SLUICE_CLIENT_TIMEOUT between chunks is answered 408.
import { SluiceError } from '../errors.js'
import type { CallBody, CallContext, RoutedCall } from './context.js'
import { inviteBody } from './expect-continue.js'

const NONE: CallBody = Object.freeze({ kind: 'none' })
const EMPTY: CallBody = Object.freeze({ kind: 'buffered', data: Buffer.alloc(0) })

export function declaredLength (ctx: CallContext): number | undefined {
  const cl = ctx.req.headers['content-length']
  if (cl === undefined) return undefined
  const n = Number(cl)
  if (!Number.isSafeInteger(n) || n < 0) throw new SluiceError('bad_request', 'invalid Content-Length')
  return n
}

/** Before anything else is spent on a call: refuse a declared body over the limit. */
export function checkDeclaredBody (ctx: CallContext, limit: number): void {
  const n = declaredLength(ctx)
  if (n !== undefined && n > limit) {
    throw new SluiceError('payload_too_large', `request body of ${n} bytes is over the policy limit of ${limit}`)
  }
}

/**
 * Undefined when there is nothing to wait for (no body, or one that will
 * stream, or it was read already), else a promise of the buffered body.
 * `bufferUpTo`: read whole up to this size rather than retry.maxBufferedBody
 * (a rate-limit cost estimated from the body).
 */
export function readRequestBody (ctx: RoutedCall, bufferUpTo?: number): Promise<void> | undefined {
  if (ctx.bodyRead) return undefined
  ctx.bodyRead = true
  const req = ctx.req
  const length = declaredLength(ctx)
  const chunked = req.headers['transfer-encoding'] !== undefined
  if (length === undefined && !chunked) { ctx.body = NONE; return undefined }
  if (length === 0 && !chunked) { ctx.body = EMPTY; return undefined }
  inviteBody(req, ctx.res)
  const policy = ctx.vendor.policy
  const limit = policy.limits.bodyBytes
  const bufferable = Math.min(bufferUpTo ?? policy.retry.maxBufferedBodyBytes, limit)
  if (length !== undefined && length > bufferable) {
    ctx.body = { kind: 'stream', source: streamBody(ctx, [], 0, limit) }
    return undefined
  }
  return readUpTo(ctx, bufferable, ctx.runtime.clientTimeoutMs).then(read => keepBody(ctx, read, limit))
}

function keepBody (ctx: CallContext, { chunks, size, complete }: { chunks: Buffer[], size: number, complete: boolean }, limit: number): void {
  if (complete) {
    ctx.body = { kind: 'buffered', data: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size) }
  } else {
    // A chunked body that outgrew the replay buffer: send what we have, then the rest as it comes.
    ctx.body = { kind: 'stream', source: streamBody(ctx, chunks, size, limit) }
  }
}

/** Reads until the end, or until more than `max` bytes are held (then stops reading). */
export function readUpTo (ctx: CallContext, max: number, timeoutMs: number): Promise<{ chunks: Buffer[], size: number, complete: boolean }> {
  const req = ctx.req
  const res = ctx.res
  return new Promise((resolve, reject) => {
    // A client gone before its body was read (while the call queued for a token
    // or waited for a credential) will never send 'end' or 'close' again.
    if (req.destroyed) {
      reject(new SluiceError('client_gone', 'the client closed the connection before its body was read'))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
      res.off('timeout', onTimeout)
      res.setTimeout(0)
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      size += chunk.length
      if (size > max) {
        req.pause()
        cleanup()
        resolve({ chunks, size, complete: false })
      }
    }
    const onEnd = (): void => { cleanup(); resolve({ chunks, size, complete: true }) }
    // node's 'aborted' (ECONNRESET): the client went away mid-body
    const onError = (err: Error): void => { cleanup(); reject(new SluiceError((err as { code?: string }).code === 'ECONNRESET' ? 'client_gone' : 'bad_request', 'the request body could not be read', { cause: err })) }
    const onClose = (): void => {
      if (!req.complete) { cleanup(); reject(new SluiceError('client_gone', 'the client closed the connection mid-body')) }
    }
    // On the response, not the socket: node destroys a socket whose timeout nobody handles,
    // and the client should get its 408.
    const onTimeout = (): void => {
      cleanup()
      reject(new SluiceError('client_timeout', `no request body bytes for ${timeoutMs} ms`))
    }
    res.setTimeout(timeoutMs)
    res.on('timeout', onTimeout)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/** The body as an async iterable for undici, enforcing the size limit and the client timeout. */
async function * streamBody (ctx: CallContext, head: Buffer[], headSize: number, limit: number): AsyncGenerator<Buffer> {
  if (headSize > limit) throw new SluiceError('payload_too_large', `request body is over the policy limit of ${limit} bytes`)
  for (const chunk of head) yield chunk
  const req = ctx.req
  let size = headSize
  let stalled = false
  const onTimeout = (): void => {
    stalled = true
    ctx.attempt?.abort(new SluiceError('client_timeout', `no request body bytes for ${ctx.runtime.clientTimeoutMs} ms`))
  }
  ctx.res.setTimeout(ctx.runtime.clientTimeoutMs)
  ctx.res.on('timeout', onTimeout)
  try {
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) throw new SluiceError('payload_too_large', `request body is over the policy limit of ${limit} bytes`)
      yield chunk
    }
  } finally {
    ctx.res.off('timeout', onTimeout)
    ctx.res.setTimeout(0)
  }
  if (stalled) throw new SluiceError('client_timeout', 'the request body stalled')
}
