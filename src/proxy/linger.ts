// An answer given while the client is still sending its request body (sluice's
// own 413 or 429 to a large upload, a vendor's early 401 relayed): closing the
// connection right after it would leave the client's bytes unread, the kernel
// would reset the connection, and a client still writing would see EPIPE or a
// reset instead of the answer. So the rest of the body is read and dropped
// after the answer; once it has all arrived, the connection serves the
// client's next request as usual. A client still sending after LINGER_BYTES
// or LINGER_MS has had its answer long enough: its connection is closed.
import type { IncomingMessage, ServerResponse } from 'node:http'

/** the most of an unwanted request body read after the answer */
export const LINGER_BYTES = 16 * 1024 * 1024
/** the longest a connection is kept reading an unwanted request body */
export const LINGER_MS = 5_000

/**
 * Reads and drops what remains of `req`'s body once sluice has (or is about
 * to have) answered it. True when the connection may stay open (the body is
 * whole, or being drained); false when it must close with the answer (the
 * client is gone or its body is broken).
 */
export function drainAfterAnswer (req: IncomingMessage, res: ServerResponse): boolean {
  if (req.complete) return true
  if (req.destroyed || req.errored !== null || res.destroyed) return false
  const socket = req.socket
  let bytes = 0
  const stop = (): void => {
    done()
    socket.destroy()
  }
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length
    if (bytes > LINGER_BYTES) stop()
  }
  const timer = setTimeout(stop, LINGER_MS)
  timer.unref()
  const done = (): void => {
    clearTimeout(timer)
    req.off('data', onData)
    req.off('end', done)
    socket.off('close', done)
  }
  req.on('data', onData)
  req.on('end', done)
  // not the request's 'close': node no longer tells an answered request that its connection closed
  socket.on('close', done)
  req.resume()
  return true
}
