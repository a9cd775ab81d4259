// What an attempt means for its job: done (succeeded or failed, with the
// vendor's answer), due again later (a retry on async.retry, or a wait for a
// token, a closed breaker, a credential), or dead (out of attempts or age).
// A wait does not count as an attempt: the vendor never saw it.
import type { AsyncPolicy, JobRetryCondition } from '../policy/types.js'
import { backoffDelay } from '../resilience/backoff.js'
import { parseRetryAfter } from '../resilience/retry-after.js'
import type { ErrorCode } from '../errors.js'
import type { AttemptReport } from './deliver.js'
import type { Job } from './job.js'

/** Refusals that say "not now": the job waits and is sent later. */
const WAIT: ReadonlySet<ErrorCode> = new Set(['circuit_open', 'rate_limited', 'overloaded', 'credential_unavailable', 'redis_unavailable', 'draining', 'upstream_timeout', 'upstream_unreachable'])

/** The least a job waits before it is tried again after a "not now". */
const MIN_WAIT_MS = 50

export function applyAttempt (job: Job, report: AttemptReport, policy: AsyncPolicy, now: number): void {
  job.updatedAt = now
  if (report.kind === 'no-vendor') {
    job.status = 'failed'
    job.error = 'no_route'
    return
  }
  if (report.kind === 'answer') {
    job.attempts++
    const status = report.result.status
    job.result = report.result
    if (status >= 200 && status < 300 && !report.cutOff) {
      job.status = 'succeeded'
      job.error = undefined
      return
    }
    const reason = report.cutOff ? 'reset' : status
    job.error = report.cutOff ? 'cut off' : `status ${status}`
    if (!retries(policy.retry.on, reason)) {
      job.status = report.cutOff ? 'dead' : 'failed'
      return
    }
    const retryAfter = status === 429 || status === 503 ? parseRetryAfter(header(report.result.headers, 'retry-after'), now) : undefined
    again(job, policy, now, retryAfter)
    return
  }
  job.error = report.code
  if (report.sent && (report.code === 'upstream_unreachable' || report.code === 'upstream_timeout')) {
    job.attempts++
    if (!retries(policy.retry.on, report.code === 'upstream_timeout' ? 'timeout' : 'connect-error')) {
      job.status = 'dead'
      return
    }
    again(job, policy, now, undefined)
    return
  }
  if (!WAIT.has(report.code)) {
    // not_allowed, bad_request, payload_too_large, forbidden_destination: never sendable as it stands
    job.status = 'failed'
    return
  }
  schedule(job, policy, now, Math.max(MIN_WAIT_MS, report.retryAfterMs ?? policy.retry.backoff.initialMs))
}

/** Dead once maxAge has passed since the job's life began. */
export function expired (job: Job, policy: AsyncPolicy, now: number): boolean {
  return now - job.since >= policy.maxAgeMs
}

export function markExpired (job: Job, now: number): void {
  job.status = 'dead'
  job.updatedAt = now
  job.error = `${job.error ?? 'not delivered'} (maxAge passed)`
}

function again (job: Job, policy: AsyncPolicy, now: number, retryAfterMs: number | undefined): void {
  if (job.attempts >= policy.retry.attempts) {
    job.status = 'dead'
    job.error = `${job.error ?? 'failed'} (attempts exhausted)`
    return
  }
  const delay = Math.max(backoffDelay(policy.retry.backoff, job.attempts), retryAfterMs ?? 0)
  schedule(job, policy, now, delay)
}

function schedule (job: Job, policy: AsyncPolicy, now: number, delayMs: number): void {
  if (now + delayMs - job.since >= policy.maxAgeMs) {
    markExpired(job, now)
    return
  }
  job.status = 'queued'
  job.dueAt = now + delayMs
}

function retries (on: readonly JobRetryCondition[], reason: number | 'timeout' | 'connect-error' | 'reset'): boolean {
  for (const c of on) {
    if (c === reason) return true
    if (typeof reason === 'number' && ((c === '5xx' && reason >= 500) || (c === '4xx' && reason >= 400 && reason < 500))) return true
  }
  return false
}

function header (flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if ((flat[i] as string).toLowerCase() === name) return flat[i + 1]
  return undefined
}
