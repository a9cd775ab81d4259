// Stage: a call with `Prefer: respond-async` to a vendor with async.enabled is
// not sent now. Its body is read (up to async.maxBody), it is stored durably as
// a job, and only then answered 202 with where to find it. Everything that
// would refuse the call for good (routing, path, allow-list, body limits, a
// callback host not on the list) was judged before: a job that can never be
// sent is never accepted.
import { SluiceError } from '../errors.js'
import type { CallContext, RoutedCall } from '../pipeline/context.js'
import { readUpTo } from '../pipeline/request-body.js'
import { inviteBody } from '../pipeline/expect-continue.js'
import { newIdempotencyKey } from '../resilience/retry-decision.js'
import { newJobId, type Job } from './job.js'

const RESPOND_ASYNC = /(?:^|,)\s*respond-async\s*(?:[,;]|$)/i

/** Not forwarded with the job: hop-by-hop, sluice's own, and what the delivery sets itself. */
const DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect', 'http2-settings',
  'content-length', 'prefer', 'x-sluice-callback', 'x-request-id',
])

/** The call asks for asynchronous handling and its vendor offers it. */
export function wantsJob (ctx: RoutedCall): boolean {
  if (ctx.runtime.jobs === undefined || !ctx.vendor.policy.async.enabled) return false
  const prefer = ctx.header('prefer')
  return prefer !== undefined && RESPOND_ASYNC.test(prefer)
}

export async function acceptJob (ctx: RoutedCall, path: string, query: string): Promise<void> {
  const vendor = ctx.vendor
  const policy = vendor.policy
  const jobs = ctx.runtime.jobs as NonNullable<CallContext['runtime']['jobs']>
  const callback = callbackOf(ctx)
  const limit = Math.min(policy.async.maxBodyBytes, policy.limits.bodyBytes)
  const body = await readBody(ctx, limit)

  const raw = ctx.req.rawHeaders
  const named = connectionNamed(ctx.req.headers.connection)
  // Headers the delivery would strip anyway (the client's own credentials for the vendor) are not stored.
  const strip = policy.inject.strip
  const headers: string[] = []
  let key: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if (DROP.has(name) || strip.includes(name) || name.startsWith('x-forwarded-') || named?.has(name) === true) continue
    if (name === vendor.policy.idempotency.header) key = raw[i + 1] as string
    headers.push(raw[i] as string, raw[i + 1] as string)
  }
  if (key === undefined) {
    // Every attempt carries the same key, so a vendor that saw one already can tell.
    key = newIdempotencyKey()
    headers.push(policy.idempotency.header, key)
  }
  const now = Date.now()
  const job: Job = {
    id: newJobId(),
    vendor: vendor.name,
    status: 'queued',
    method: ctx.method,
    path,
    query,
    headers,
    body: body.toString('base64'),
    idempotencyKey: key,
    ip: ctx.clientIp,
    callback,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    since: now,
    dueAt: now,
    error: undefined,
    result: undefined,
    expiresAt: undefined,
  }
  await jobs.accept(job, policy.async)
  const text = JSON.stringify({ job: job.id, status: 'queued' })
  ctx.status = 202
  ctx.res.writeHead(202, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'preference-applied': 'respond-async',
    location: `/_sluice/jobs/${job.id}`,
    'x-sluice-job': job.id,
    'x-request-id': ctx.requestId,
    'cache-control': 'no-store',
  })
  ctx.res.end(text)
}

/** x-sluice-callback, when present: an http(s) URL whose host the policy lists, else 400. */
function callbackOf (ctx: RoutedCall): string | undefined {
  const value = ctx.header('x-sluice-callback')
  if (value === undefined) return undefined
  const hosts = ctx.vendor.policy.async.callbacks.hosts
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new SluiceError('bad_request', 'x-sluice-callback is not a URL')
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new SluiceError('bad_request', 'x-sluice-callback must be a plain http(s) URL')
  }
  if (!hosts.has(url.hostname.toLowerCase()) && !hosts.has(url.host.toLowerCase())) {
    throw new SluiceError('bad_request', 'the x-sluice-callback host is not in async.callbacks.hosts')
  }
  return url.href
}

async function readBody (ctx: CallContext, limit: number): Promise<Buffer> {
  const req = ctx.req
  const cl = req.headers['content-length']
  if (cl === undefined && req.headers['transfer-encoding'] === undefined) return Buffer.alloc(0)
  if (cl !== undefined && Number(cl) > limit) {
    throw new SluiceError('payload_too_large', `a job body of ${cl} bytes is over the limit of ${limit}`)
  }
  inviteBody(req, ctx.res)
  const read = await readUpTo(ctx, limit, ctx.runtime.clientTimeoutMs)
  if (!read.complete) throw new SluiceError('payload_too_large', `a job body is over the limit of ${limit} bytes`)
  return Buffer.concat(read.chunks, read.size)
}

function connectionNamed (value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  return new Set(value.split(',').map(n => n.trim().toLowerCase()).filter(n => n !== ''))
}
