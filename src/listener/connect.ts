// CONNECT asks for a raw tunnel, to which no policy can apply: it is refused
// 403 not_allowed, answered, counted and logged like any call. The refusal is
// one function, so a later opt-in interception (terminating TLS for a host in
// some policy's routes.hosts) can take over the tunnels it serves and refuse
// the others the same way.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { SluiceError } from '../errors.js'
import { requestIdOf } from '../pipeline/request-id.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { answerOnSocket } from './socket-answer.js'

/** The server's 'connect' event: the socket is handed over raw, parser detached. */
export function handleConnect (runtime: ProxyRuntime, req: IncomingMessage, socket: Socket, _head: Buffer): void {
  // node no longer watches this socket's errors: a client that resets must not take the process down
  socket.on('error', ignore)
  refuseConnect(runtime, req, socket, new SluiceError('not_allowed', 'CONNECT is never forwarded: sluice tunnels nothing it cannot apply a policy to'))
}

/** Answers a CONNECT `err` (403 not_allowed) and closes its socket; its vendor, if its host is one of a policy's hosts, is on the line. */
export function refuseConnect (runtime: ProxyRuntime, req: IncomingMessage, socket: Socket, err: SluiceError): void {
  const target = req.url ?? ''
  answerOnSocket(runtime, socket, err, {
    requestId: requestIdOf(req),
    method: 'CONNECT',
    path: target,
    vendor: runtime.current.targets.vendorOfHost(target),
    startedAt: performance.now(),
  })
}

function ignore (): void {}
