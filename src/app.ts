// The proxy listener as a fastify app. Every request is taken over in the
// first hook (onRequest) and handed to the pipeline with the raw node request
// and response: no body parsing, no reply serialisation, no per-request fastify
// logging, so bodies stream untouched and the hot path stays short. Fastify
// still owns the server: its framework errors (a malformed URL) come out in
// sluice's error format, and CONNECT, which node never routes as a request, is
// refused on the socket.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { SluiceError, errorBody } from './errors.js'
import { handleCall } from './pipeline/index.js'
import { writeError } from './pipeline/respond.js'
import { deferContinue } from './pipeline/expect-continue.js'
import type { ProxyRuntime } from './runtime/proxy-runtime.js'
import { isJobRoute, serveJobRoute } from './jobs/routes.js'

/** An absolute-form request target, kept aside while fastify routes on '/'. */
export interface TargetCarrier extends IncomingMessage {
  sluiceTarget?: string
}

export interface ProxyAppOptions {
  /** SLUICE_CLIENT_TIMEOUT: request headers must arrive within this, ms */
  clientTimeoutMs: number
}

export function buildProxyApp (runtime: ProxyRuntime, opts: ProxyAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    return503OnClosing: false,
    // Node's own slowloris guard for the header phase; body stalls are timed by the pipeline.
    http: {
      headersTimeout: opts.clientTimeoutMs,
      requestTimeout: 0,
      // node checks header deadlines on this interval (30 s by default, far too coarse)
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(opts.clientTimeoutMs / 4))),
    },
    keepAliveTimeout: 65_000,
    // An absolute-form target (HTTP_PROXY clients) is routed by the pipeline from
    // the raw URL; fastify only needs a path to land on the catch-all route.
    rewriteUrl: (req) => {
      const url = req.url ?? '/'
      if (url.charCodeAt(0) === 47) return url
      const carrier: TargetCarrier = req
      carrier.sluiceTarget = url
      return '/'
    },
    frameworkErrors: (_err, _req, reply) => {
      reply.hijack()
      writeError(reply.raw, new SluiceError('bad_request'), undefined, String(reply.request.id), true)
    },
  })

  app.route({
    method: app.supportedMethods,
    url: '/*',
    onRequest: (request, reply, done) => {
      reply.hijack()
      if (isJobRoute(request.raw.url)) {
        serveJobRoute(runtime, request.raw, reply.raw).catch(err => runtime.logger.error({ err }, 'unhandled job route error'))
        return done()
      }
      handleCall(runtime, request.raw, reply.raw).catch(err => runtime.logger.error({ err }, 'unhandled proxy error'))
      done()
    },
    handler: () => {},
  })
  // Methods fastify does not route (TRACE, PROPFIND, ...) land here; the pipeline refuses them.
  app.setNotFoundHandler((request, reply) => {
    reply.hijack()
    handleCall(runtime, request.raw, reply.raw).catch(err => runtime.logger.error({ err }, 'unhandled proxy error'))
  })

  app.server.on('connect', refuseTunnel)
  // 100 Continue only once the body is wanted, so a refusal comes before the body.
  app.server.on('checkContinue', deferContinue)
  return app
}

/** CONNECT asks for a raw tunnel, to which no policy can apply: 403, then close. */
function refuseTunnel (_req: IncomingMessage, socket: Socket): void {
  const body = errorBody(new SluiceError('not_allowed', 'CONNECT is never forwarded'), undefined, 'connect')
  socket.end(
    'HTTP/1.1 403 Forbidden\r\n' +
    'content-type: application/json; charset=utf-8\r\n' +
    'x-sluice-error: not_allowed\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' + body
  )
}
