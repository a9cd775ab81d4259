// The operator's view of jobs, on the admin listener:
//   GET    /jobs?status=&vendor=&limit=   jobs, newest state first
//   GET    /jobs/<id>                     one job (request and result without bodies)
//   POST   /jobs/<id>/retry               a dead or failed job queued again, same idempotency key
//   DELETE /jobs/<id>                     the job forgotten
// Bodies never appear here: they may hold customer data.
import type { FastifyInstance } from 'fastify'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { isJobId, jobView, type Job, type JobStatus } from './job.js'

const STATUSES: ReadonlySet<string> = new Set(['queued', 'running', 'succeeded', 'failed', 'dead'])
const DEFAULT_LIMIT = 1000

export function registerJobAdmin (app: FastifyInstance, runtime: ProxyRuntime): void {
  const jobsOr503 = (reply: { code: (n: number) => { send: (b: unknown) => unknown } }): NonNullable<ProxyRuntime['jobs']> | undefined => {
    if (runtime.jobs === undefined) {
      reply.code(503).send({ error: 'jobs_unavailable', message: 'no job store' })
      return undefined
    }
    return runtime.jobs
  }

  app.get<{ Querystring: { status?: string, vendor?: string, limit?: string } }>('/jobs', async (req, reply) => {
    const jobs = jobsOr503(reply)
    if (jobs === undefined) return reply
    const { status, vendor } = req.query
    if (status !== undefined && !STATUSES.has(status)) return reply.code(400).send({ error: 'bad_request', message: 'status is one of queued, running, succeeded, failed, dead' })
    const limit = Math.min(10_000, Math.max(1, Number(req.query.limit ?? DEFAULT_LIMIT) || DEFAULT_LIMIT))
    const list = await jobs.list({ status: status as JobStatus | undefined, vendor }, limit)
    list.sort((a, b) => b.updatedAt - a.updatedAt)
    return { jobs: list.map(jobView) }
  })

  app.get<{ Params: { id: string } }>('/jobs/:id', async (req, reply) => {
    const jobs = jobsOr503(reply)
    if (jobs === undefined) return reply
    const job = isJobId(req.params.id) ? await jobs.get(req.params.id) : undefined
    if (job === undefined) return reply.code(404).send({ error: 'no_route', message: 'no such job' })
    return detail(job, runtime)
  })

  app.post<{ Params: { id: string } }>('/jobs/:id/retry', async (req, reply) => {
    const jobs = jobsOr503(reply)
    if (jobs === undefined) return reply
    const job = isJobId(req.params.id) ? await jobs.requeue(req.params.id) : undefined
    if (job === undefined) return reply.code(404).send({ error: 'no_route', message: 'no such job' })
    if (job === false) return reply.code(409).send({ error: 'bad_request', message: 'only a dead or failed job can be retried' })
    return jobView(job)
  })

  app.delete<{ Params: { id: string } }>('/jobs/:id', async (req, reply) => {
    const jobs = jobsOr503(reply)
    if (jobs === undefined) return reply
    const gone = isJobId(req.params.id) && await jobs.remove(req.params.id)
    if (!gone) return reply.code(404).send({ error: 'no_route', message: 'no such job' })
    return { job: req.params.id, deleted: true }
  })
}

function detail (job: Job, runtime: ProxyRuntime): Record<string, unknown> {
  const scrubber = runtime.current.byName.get(job.vendor)?.scrubber ?? runtime.defaultScrubber
  return {
    ...jobView(job),
    method: job.method,
    path: scrubber.path(job.path + job.query),
    dueAt: job.status === 'queued' ? new Date(job.dueAt).toISOString() : null,
    callback: job.callback === undefined ? null : new URL(job.callback).host,
    result: job.result === undefined ? null : { status: job.result.status, bytes: Buffer.from(job.result.body, 'base64').length },
  }
}
