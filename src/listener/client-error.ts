// What the HTTP parser refuses (a malformed request line or header, bad chunk
// framing, headers over the size limit) and the header-phase client timeout,
// answered in sluice's own format, counted and logged. No client error can
// crash the process or leave a request uncounted.
//
// On a connection with calls still in flight (pipelined requests), the calls
// before the broken request are answered first, in order, and the refusal
// follows them: a call the vendor has processed is never reported as failed.
// A broken body belongs to the call it follows, which is answered (or cut off).
import { randomUUID } from 'node:crypto'
import { maxHeaderSize, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { SluiceError } from '../errors.js'
import { refuseInFlight } from '../pipeline/index.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { answerOnSocket } from './socket-answer.js'

const HANDLED = Symbol('sluice.clientError')
const LAST_RESPONSE = Symbol('sluice.lastResponse')

interface ListenerSocket extends Socket {
  [HANDLED]?: true
  [LAST_RESPONSE]?: ServerResponse
  /** node's HTTP parser for this connection, while it has one */
  parser?: { incoming?: IncomingMessage | null } | null
}

/**
 * Notes the newest response on its connection (one property write per call).
 * Through the request: a pipelined response gets its socket only once the
 * ones before it are done.
 */
export function trackResponse (req: IncomingMessage, res: ServerResponse): void {
  (req.socket as ListenerSocket)[LAST_RESPONSE] = res
}

// The socket is gone or going (HPE_INVALID_EOF_STATE: the client closed in the
// middle of a request): nothing to answer, and a call in flight logs itself as client_gone.
const TRANSPORT = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'HPE_INVALID_EOF_STATE'])

export function clientErrorHandler (runtime: ProxyRuntime): (err: Error & { code?: string }, socket: Socket) => void {
  return function onClientError (err, socket) {
    const s = socket as ListenerSocket
    // The parser reports each later chunk again; the first report is answered.
    if (s[HANDLED] === true) return
    s[HANDLED] = true
    // A connection that sent nothing at all before the header timeout is no request.
    if (socket.destroyed || TRANSPORT.has(err.code ?? '') || (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0)) {
      socket.destroy()
      return
    }
    const refusal = refusalOf(err.code, runtime.clientTimeoutMs)
    const last = s[LAST_RESPONSE]
    const incoming = s.parser?.incoming
    if (last !== undefined && incoming != null && !incoming.complete && last.req === incoming) {
      // The broken bytes are the newest call's body: that call answers for them. One
      // already over was answered and logged: no second answer, the connection just ends.
      if (!refuseInFlight(last, refusal)) socket.end()
      return
    }

    const answer = (): void => {
      answerOnSocket(runtime, socket, refusal, { requestId: randomUUID(), method: '-', path: '-', vendor: undefined, startedAt })
    }
    const startedAt = performance.now()
    if (last !== undefined && !last.writableFinished && !last.destroyed) last.once('close', answer)
    else answer()
  }
}

/** The catalogue answer for a parser error code (llhttp's HPE_*, node's own); the message never quotes the bytes. */
function refusalOf (code: string | undefined, clientTimeoutMs: number): SluiceError {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SluiceError('client_timeout', `the request headers did not arrive within ${clientTimeoutMs} ms`)
    case 'HPE_HEADER_OVERFLOW':
      return new SluiceError('headers_too_large', `request headers over ${maxHeaderSize} bytes`)
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_STRICT':
      return new SluiceError('bad_request', 'malformed request body framing')
    case 'HPE_INVALID_METHOD':
    case 'HPE_INVALID_URL':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_CONSTANT':
      return new SluiceError('bad_request', 'malformed request line')
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
    case 'HPE_UNEXPECTED_SPACE':
      return new SluiceError('bad_request', 'malformed request headers')
    default:
      return new SluiceError('bad_request', 'malformed request')
  }
}
