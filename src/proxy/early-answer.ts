// A vendor may answer before it has read the whole request body (a 401 or 413
// to a large upload) and close the connection. Its answer is then waiting in
// the socket's receive buffer, but the next body write fails (EPIPE or
// ECONNRESET), often synchronously, and node destroys a socket on a write
// error at once, without reading what is buffered: undici reports the write
// error, and the vendor's answer is lost (a 502 for a call the vendor
// answered, or its body cut off when only its headers had been read).
//
// So a write that fails because the peer is gone is taken as written: the
// socket stays open for reading, undici parses and relays the answer, and
// stops writing once that answer is complete. The read side ends right after
// (the peer has closed or reset), so a vendor that sent nothing still ends
// the attempt as a reset before response headers, as before; and a vendor
// that never closes is cut by timeouts.read.
import type { Socket } from 'node:net'
import type { buildConnector } from 'undici'

type WriteCallback = (err?: Error | null) => void

/** The peer closed or reset the connection: what it sent before that is still readable. */
function peerGone (err: Error | null | undefined): boolean {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code
  return code === 'EPIPE' || code === 'ECONNRESET'
}

/**
 * Makes write errors from a vanished peer silent on this socket. Writable
 * hands the same completion callback to every `_write`/`_writev` of a stream,
 * so one wrapper per socket serves all its writes.
 */
export function keepReadingOnWriteError (socket: Socket): void {
  const write = socket._write
  const writev = socket._writev
  let inner: WriteCallback | undefined
  let outer: WriteCallback | undefined
  const wrap = (cb: WriteCallback): WriteCallback => {
    if (cb !== inner) {
      inner = cb
      outer = (err) => { cb(peerGone(err) ? null : err) }
    }
    return outer as WriteCallback
  }
  socket._write = function (chunk: unknown, encoding: BufferEncoding, cb: WriteCallback) {
    write.call(this, chunk, encoding, wrap(cb))
  }
  if (writev !== undefined && writev !== null) {
    socket._writev = function (chunks: Array<{ chunk: unknown, encoding: BufferEncoding }>, cb: WriteCallback) {
      writev.call(this, chunks, wrap(cb))
    }
  }
}

/** `connect`, with every socket it makes set up by keepReadingOnWriteError. */
export function readingConnector (connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    connect(options, (err, socket) => {
      // On a failed connect undici passes the error alone.
      if (err === null && socket !== null && socket !== undefined) keepReadingOnWriteError(socket)
      ;(callback as (e: Error | null, s: Socket | null) => void)(err, socket)
    })
  }
}
