// The proxy listener as a fastify app. Every request is taken over in the
// first hook (onRequest) and handed to the pipeline with the raw node request
// and response: no body parsing, no reply serialisation, no per-request fastify
// logging, so bodies stream untouched and the hot path stays short. What never
// becomes a call of the pipeline is answered at the listener in sluice's own
// format, counted and logged too: fastify's framework errors (a malformed URL),
// what node's HTTP parser refuses (src/listener/client-error.ts), and CONNECT
// (src/listener/connect.ts).
import Fastify, { type FastifyInstance } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { SluiceError } from './errors.js'
import { clientErrorHandler, trackResponse } from './listener/client-error.js'
import { handleConnect } from './listener/connect.js'
import type { TargetCarrier } from './pipeline/context.js'
import { handleCall, refuseCall } from './pipeline/index.js'
import { deferContinue } from './pipeline/expect-continue.js'
import { connectHandler } from './intercept/index.js'
import type { ProxyRuntime } from './runtime/proxy-runtime.js'
import { isJobRoute, serveJobRoute } from './jobs/routes.js'

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
      // the pipeline checks Host itself, so the refusal comes out in sluice's format
      requireHostHeader: false,
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
    frameworkErrors: (_err, request, reply) => {
      reply.hijack()
      refuseCall(runtime, request.raw, reply.raw, new SluiceError('bad_request'))
    },
    clientErrorHandler: clientErrorHandler(runtime),
  })

  app.route({
    method: app.supportedMethods,
    url: '/*',
    onRequest: (request, reply, done) => {
      reply.hijack()
      trackResponse(request.raw, reply.raw)
      if (isJobRoute(request.raw.url)) {
        serveJobRoute(runtime, request.raw, reply.raw).catch(err => runtime.logger.error({ err }, 'unhandled job route error'))
        return done()
      }
      handleCall(runtime, request.raw, reply.raw)
      done()
    },
    handler: () => {},
  })
  // Methods fastify does not route (TRACE, PROPFIND, ...) land here; the pipeline refuses them.
  app.setNotFoundHandler((request, reply) => {
    reply.hijack()
    trackResponse(request.raw, reply.raw)
    handleCall(runtime, request.raw, reply.raw)
  })

  takeCallsBeforeRouting(app, runtime)

  // CONNECT: intercepted when an interception CA is configured and the host is routed, else refused
  app.server.on('connect', connectHandler<Socket>(runtime, app.server, (req, socket, head) => { handleConnect(runtime, req, socket, head) }))
  // 100 Continue only once the body is wanted, so a refusal comes before the body.
  app.server.on('checkContinue', deferContinue)
  return app
}

/**
 * The common request goes to the pipeline straight from node's 'request'
 * event, before fastify's router: the catch-all route above would hand it to
 * the same handleCall, but only after fastify's request and reply objects,
 * hook runner and route lookup (about 1.4 KB and a microsecond per call,
 * bench/README.md). What fastify does decide stays with fastify: an
 * absolute-form target (rewriteUrl), a URL with percent-escapes (fastify
 * refuses a malformed one: frameworkErrors) and the job routes.
 */
function takeCallsBeforeRouting (app: FastifyInstance, runtime: ProxyRuntime): void {
  const server = app.server
  const fastifyHandlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>
  // fastify registers exactly one; anything else and this step stays out of the way
  if (fastifyHandlers.length !== 1) return
  const routed = fastifyHandlers[0] as (req: IncomingMessage, res: ServerResponse) => void
  server.removeListener('request', routed)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? ''
    if (url.charCodeAt(0) !== 47 /* / */ || url.includes('%') || isJobRoute(url)) {
      routed(req, res)
      return
    }
    trackResponse(req, res)
    handleCall(runtime, req, res)
  })
}
