// An answer sluice writes straight to a socket, for the requests that never
// become a call of the pipeline: the ones the HTTP parser refuses, and CONNECT.
// Same JSON body and headers as every other answer of sluice, then the
// connection is closed; counted and logged like any call.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { errorBody, type SluiceError } from '../errors.js'
import { finishListenerCall, type ListenerCall } from '../pipeline/finish.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'

/**
 * How long a closed connection is kept before it is dropped: the client may
 * still be sending (a request body, a TLS hello) and a reset on unread bytes
 * could cost it the answer.
 */
const LINGER_MS = 2000

export function answerOnSocket (runtime: ProxyRuntime, socket: Socket, err: SluiceError, call: ListenerCall): void {
  const written = socket.writable && !socket.destroyed
  if (written) {
    const body = errorBody(err, call.vendor?.name, call.requestId)
    socket.end(
      `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-sluice-error: ${err.code}\r\n` +
      `x-request-id: ${call.requestId}\r\n` +
      'cache-control: no-store\r\n' +
      'connection: close\r\n\r\n' + body
    )
    const timer = setTimeout(destroy, LINGER_MS, socket)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  } else {
    socket.destroy()
  }
  finishListenerCall(runtime, call, err, written)
}

function destroy (socket: Socket): void {
  socket.destroy()
}
