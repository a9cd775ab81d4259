// One attempt of a job, through the same stages as a live call (see
// src/pipeline/index.ts): the vendor's bulkhead, breaker, credentials, buckets,
// timeouts and its request log line all apply. Only the ends differ: the
// request comes from the job record and the answer goes into a Collector.
// The call's own retries are off: a job retries on async.retry instead.
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { CallContext } from '../pipeline/context.js'
import { checkPath, checkAllowed, routeTo } from '../pipeline/route.js'
import { enterBulkhead, startDeadline, checkBreaker, admitBreaker } from '../pipeline/admit.js'
import { takeTokens } from '../pipeline/rate-limit.js'
import { checkCredentials, injectCredentials, prepareRequest } from '../pipeline/inject.js'
import { forward } from '../pipeline/forward.js'
import { answerError } from '../pipeline/respond.js'
import { finish } from '../pipeline/finish.js'
import type { ErrorCode } from '../errors.js'
import { Collector, jobRequest } from './collector.js'
import type { Job, JobResult } from './job.js'

export type AttemptReport =
  /** the vendor answered (whole, or cut off midway) */
  | { kind: 'answer', result: JobResult, cutOff: boolean }
  /** sluice ended the attempt: `sent` when it had reached the vendor */
  | { kind: 'refused', code: ErrorCode, sent: boolean, retryAfterMs: number | undefined }
  /** no vendor of that name in the policies any more */
  | { kind: 'no-vendor' }

export async function attemptJob (runtime: ProxyRuntime, job: Job, maxResultBytes: number): Promise<AttemptReport> {
  const vendor = runtime.current.byName.get(job.vendor)
  if (vendor === undefined) return { kind: 'no-vendor' }
  const body = Buffer.from(job.body, 'base64')
  const raw = body.length > 0 ? [...job.headers, 'content-length', String(body.length)] : job.headers
  const req = jobRequest(job.method, vendor.policy.routes.prefix + job.path + job.query, raw, job.ip)
  const sink = new Collector(maxResultBytes)
  const ctx = new CallContext(runtime, req, sink.asResponse())
  runtime.callStarted()
  try {
    ctx.requestId = job.id
    routeTo(ctx, vendor, job.path + job.query)
    ctx.jobAttempt = true
    const { path, query } = checkPath(ctx) //      the policy may have changed since the job was accepted
    checkAllowed(ctx, path)
    enterBulkhead(ctx)
    startDeadline(ctx)
    checkBreaker(ctx)
    checkCredentials(ctx)
    const tokens = takeTokens(ctx)
    if (tokens !== undefined) await tokens
    admitBreaker(ctx)
    let injection = injectCredentials(ctx)
    if (injection instanceof Promise) injection = await injection
    prepareRequest(ctx, path, query, injection)
    ctx.body = body.length > 0 ? { kind: 'buffered', data: body } : { kind: 'none' }
    await forward(ctx)
  } catch (err) {
    answerError(ctx, err)
  }
  try {
    finish(ctx)
  } finally {
    runtime.callEnded()
  }
  if (ctx.error === undefined && ctx.relayed) return { kind: 'answer', result: sink.result(), cutOff: ctx.cutOff }
  const e = ctx.error
  return {
    kind: 'refused',
    code: e?.code ?? 'upstream_unreachable',
    sent: ctx.attempts > 0,
    retryAfterMs: e?.retryAfterSec === undefined ? undefined : e.retryAfterSec * 1000,
  }
}
