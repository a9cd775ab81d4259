// Real TLS vendors on 127.0.0.1 for tests: node:https (HTTP/1.1) or node:http2
// (h2, optionally HTTP/1.1 too). Each records what reached it: requests, the
// TLS sessions opened (with SNI and the client certificate presented) and
// handshakes that failed.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { SecureVersion, TLSSocket } from 'node:tls'

export interface TlsSeen {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** 'h2' or 'http/1.1' */
  protocol: string
  /** which TLS session (in order of arrival) carried it */
  session: number
}

export interface TlsSession {
  servername: string | false | undefined
  /** CN of the client certificate presented, if any */
  clientCn: string | undefined
  alpn: string | false | null | undefined
}

export type TlsHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, body: Buffer) => void

export interface HttpsUpstreamOptions {
  cert: string
  key: string
  /** CA that client certificates must chain to; set, a client certificate is required */
  clientCa?: string
  maxVersion?: SecureVersion
  /** serve h2 (node:http2); with http1 also true, HTTP/1.1 as well */
  h2?: boolean
  http1?: boolean
  /** handler runs as soon as headers arrive (the body is not awaited) */
  streaming?: boolean
}

export interface HttpsUpstream {
  url: string
  port: number
  seen: TlsSeen[]
  sessions: TlsSession[]
  /** codes of failed handshakes (as the server saw them) */
  tlsErrors: string[]
  server: HttpsServer | Http2SecureServer
  close (): Promise<void>
}

export async function startHttpsUpstream (handler: TlsHandler, opts: HttpsUpstreamOptions): Promise<HttpsUpstream> {
  const seen: TlsSeen[] = []
  const sessions: TlsSession[] = []
  const tlsErrors: string[] = []
  const sessionOf = new WeakMap<object, number>()
  const tlsOptions = {
    cert: opts.cert,
    key: opts.key,
    ...(opts.clientCa === undefined ? {} : { ca: opts.clientCa, requestCert: true, rejectUnauthorized: true }),
    ...(opts.maxVersion === undefined ? {} : { maxVersion: opts.maxVersion }),
  }
  const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => {
    // an h2 request's socket is a proxy: the session identifies the connection
    const socket: object = 'stream' in req ? req.stream.session as object : req.socket
    const record = (body: Buffer): TlsSeen => {
      const s: TlsSeen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, protocol: req.httpVersion === '2.0' ? 'h2' : 'http/1.1', session: sessionOf.get(socket) ?? -1 }
      seen.push(s)
      return s
    }
    if (opts.streaming === true) {
      record(Buffer.alloc(0))
      handler(req, res, Buffer.alloc(0))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      record(body)
      handler(req, res, body)
    })
  }
  const server = opts.h2 === true
    ? createSecureServer({ ...tlsOptions, allowHTTP1: opts.http1 === true }, onRequest)
    : createHttpsServer(tlsOptions, onRequest)
  server.on('secureConnection', (socket: TLSSocket) => {
    sessionOf.set(socket, sessions.length)
    const peer = socket.getPeerCertificate()
    sessions.push({
      servername: (socket as TLSSocket & { servername?: string | false }).servername,
      clientCn: peer !== null && typeof peer === 'object' && 'subject' in peer && peer.subject !== undefined ? String(peer.subject.CN) : undefined,
      alpn: socket.alpnProtocol,
    })
  })
  server.on('session', (session: object) => { sessionOf.set(session, sessions.length - 1) })
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => { tlsErrors.push(err.code ?? err.message) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s: import('node:net').Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    seen,
    sessions,
    tlsErrors,
    server,
    close: () => new Promise<void>(resolve => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

/** A JSON 200. */
export function ok (_req: unknown, res: ServerResponse | Http2ServerResponse): void {
  res.setHeader('content-type', 'application/json')
  res.end('{"ok":true}')
}
