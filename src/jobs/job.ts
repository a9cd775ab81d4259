// A job: one call accepted with `Prefer: respond-async`, kept until it is
// delivered and its result has been kept for `async.resultTtl`. The record is
// plain JSON so both stores (Redis and the file journal) hold it as one string.
import { randomUUID } from 'node:crypto'

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead'

export const FINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'dead'])

/** The vendor's final answer, as received (body base64 in the record). */
export interface JobResult {
  status: number
  /** flat [name, value, ...] as relayed by sluice */
  headers: string[]
  body: string
  /** the body was longer than async.maxBody and is cut there */
  truncated?: boolean
}

export interface Job {
  id: string
  vendor: string
  status: JobStatus
  method: string
  /** below the vendor's prefix, as the client sent it */
  path: string
  /** '' or '?...' */
  query: string
  /** flat [name, value, ...]: the client's, minus hop-by-hop, Prefer and x-sluice-callback */
  headers: string[]
  /** base64 */
  body: string
  idempotencyKey: string
  /** the client's address, for buckets keyed by ip */
  ip: string
  callback: string | undefined
  attempts: number
  /** epoch ms */
  createdAt: number
  updatedAt: number
  /** when the current life of the job began (reset by an operator's retry): maxAge counts from here */
  since: number
  /** not before this (epoch ms): the next attempt's time */
  dueAt: number
  /** the last reason it did not succeed: a sluice code, or "status 503" */
  error: string | undefined
  result: JobResult | undefined
  /** final state: kept until then (epoch ms) */
  expiresAt: number | undefined
}

export function newJobId (): string {
  return 'job_' + randomUUID().replaceAll('-', '')
}

const ID = /^job_[0-9a-f]{32}$/
export function isJobId (id: string): boolean {
  return ID.test(id)
}

/** What a client, an operator and a callback see of a job (no request body, no headers). */
export function jobView (job: Job): Record<string, unknown> {
  return {
    job: job.id,
    vendor: job.vendor,
    status: job.status,
    attempts: job.attempts,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    error: job.error ?? null,
  }
}

/** The result as JSON for a callback: the body as text when it is UTF-8, else base64. */
export function resultView (result: JobResult): Record<string, unknown> {
  const body = Buffer.from(result.body, 'base64')
  const text = body.toString('utf8')
  const isText = Buffer.from(text, 'utf8').equals(body)
  const headers: Record<string, string> = {}
  for (let i = 0; i < result.headers.length; i += 2) headers[result.headers[i] as string] = result.headers[i + 1] as string
  return {
    status: result.status,
    headers,
    ...(isText ? { body: text } : { body: body.toString('base64'), bodyEncoding: 'base64' }),
    ...(result.truncated === true ? { truncated: true } : {}),
  }
}

export function encodeJob (job: Job): string {
  return JSON.stringify(job)
}

export function decodeJob (text: string): Job {
  return JSON.parse(text) as Job
}
