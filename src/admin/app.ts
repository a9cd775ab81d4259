// The admin listener (README "Admin listener"): health, readiness, metrics and the
// effective policies with every secret masked. Separate from the proxy
// listener so a scrape or probe never queues behind vendor calls.
import Fastify, { type FastifyInstance } from 'fastify'
import { explainPolicy } from '../policy/explain.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { registerJobAdmin } from '../jobs/admin.js'
import { statusReport } from './status.js'
import { STATUS_PAGE } from './status-page.js'

export function buildAdminApp (runtime: ProxyRuntime): FastifyInstance {
  const app = Fastify({ logger: false })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_req, reply) => {
    const problems = notReady(runtime)
    if (problems.length > 0) return reply.code(503).send({ status: 'not ready', problems })
    return { status: 'ready', vendors: runtime.current.vendors.length }
  })

  app.get('/metrics', async (_req, reply) => {
    const text = await runtime.metrics.registry.metrics()
    return reply.type(runtime.metrics.registry.contentType).send(text)
  })

  app.get('/policies', async () => ({
    vendors: runtime.current.vendors.map(v => explainPolicy(v.policy)),
  }))

  // Each vendor's buckets now: level, capacity and refill; keyed buckets as a
  // count of keys and the lowest levels, key values hashed.
  app.get('/ratelimit', async () => ({
    vendors: await Promise.all(runtime.current.vendors.map(async v => ({ vendor: v.name, ...await runtime.limiter.levels(v.rateLimitPlan) }))),
  }))
  // For people: a page that redraws itself from /status.json every second.
  app.get('/status', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(STATUS_PAGE))
  app.get('/status.json', async (_req, reply) => reply.header('cache-control', 'no-store').send(await statusReport(runtime)))

  registerJobAdmin(app, runtime)

  return app
}

function notReady (runtime: ProxyRuntime): string[] {
  const problems: string[] = []
  if (runtime.draining) problems.push('draining')
  if (runtime.current.vendors.length === 0) problems.push('no policies loaded')
  const limiter = runtime.limiter
  if (limiter.usesRedis && !limiter.redisUp) {
    const closed = runtime.current.vendors.filter(v => v.policy.rateLimit.failMode === 'closed' && v.policy.rateLimit.buckets.length > 0)
    if (closed.length > 0) problems.push(`redis unreachable and failMode closed for ${closed.map(v => v.name).join(', ')}`)
  }
  return problems
}
