// Expect: 100-continue asks the server whether to send the body. node says yes
// at once by default, before sluice has routed the call or looked at its
// size, so a refusal reached a client already sending its body, which often
// read only a reset. sluice sends the 100 only when it starts reading the
// body: a refusal before that (413 over limits.body, 403, 429, 503, ...) is
// the client's answer before it has sent a byte of its body.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'

const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i

/** The server's 'checkContinue' listener: the call goes on as any other, its 100 held back. */
export function deferContinue (this: Server, req: IncomingMessage, res: ServerResponse): void {
  this.emit('request', req, res)
}

/** Sends the held-back 100 Continue, if the client waits for one. Once per call, as its body is first read. */
export function inviteBody (req: IncomingMessage, res: ServerResponse): void {
  const expect = req.headers.expect
  // node emits 'checkContinue' only for HTTP/1.1; an HTTP/1.0 client waits for nothing.
  if (expect !== undefined && req.httpVersionMinor === 1 && !res.headersSent && CONTINUE.test(expect)) res.writeContinue()
}
