// The client's view of its jobs, on the proxy listener:
//   GET /_sluice/jobs/<id>         the job JSON
//   GET /_sluice/jobs/<id>/result  the vendor's final answer as received, once there
//                                  is one; 202 with the job JSON until then
// With Redis, any replica answers for any job. Unknown id: 404.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { SluiceError } from '../errors.js'
import { writeError } from '../pipeline/respond.js'
import { isJobId, jobView, type Job } from './job.js'

export const JOBS_PATH = '/_sluice/jobs/'

/** Hop-by-hop and length headers of a kept answer are sluice's to set again. */
const RESULT_DROP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive'])

export function isJobRoute (url: string | undefined): boolean {
  return url !== undefined && url.startsWith(JOBS_PATH)
}

export async function serveJobRoute (runtime: ProxyRuntime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID()
  const rest = (req.url as string).slice(JOBS_PATH.length).split('?')[0] as string
  const [id, sub, more] = rest.split('/')
  const jobs = runtime.jobs
  if (req.method !== 'GET' && req.method !== 'HEAD') return writeError(res, new SluiceError('not_allowed', 'jobs are read with GET'), undefined, requestId, false)
  if (jobs === undefined || id === undefined || !isJobId(id) || more !== undefined || (sub !== undefined && sub !== 'result')) {
    return writeError(res, new SluiceError('no_route', 'no such job'), undefined, requestId, false)
  }
  let job: Job | undefined
  try {
    job = await jobs.get(id)
  } catch (err) {
    return writeError(res, new SluiceError('jobs_unavailable', 'the job store is unreachable', { cause: err }), undefined, requestId, false)
  }
  if (job === undefined) return writeError(res, new SluiceError('no_route', 'no such job'), undefined, requestId, false)
  if (sub === 'result' && job.result !== undefined && job.status !== 'queued' && job.status !== 'running') {
    const body = Buffer.from(job.result.body, 'base64')
    const headers: string[] = []
    const h = job.result.headers
    for (let i = 0; i < h.length; i += 2) {
      const name = (h[i] as string).toLowerCase()
      if (RESULT_DROP.has(name) || name === 'x-request-id') continue
      headers.push(h[i] as string, h[i + 1] as string)
    }
    headers.push('content-length', String(body.length), 'x-sluice-job', job.id, 'x-sluice-job-status', job.status, 'x-request-id', requestId)
    res.writeHead(job.result.status, headers)
    res.end(req.method === 'HEAD' ? undefined : body)
    return
  }
  const text = JSON.stringify(jobView(job))
  const pending = job.status === 'queued' || job.status === 'running'
  res.writeHead(sub === 'result' && pending ? 202 : 200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-sluice-job': job.id,
    'x-sluice-job-status': job.status,
    'x-request-id': requestId,
    'cache-control': 'no-store',
    ...(pending ? { location: `${JOBS_PATH}${job.id}` } : {}),
  })
  res.end(req.method === 'HEAD' ? undefined : text)
}
