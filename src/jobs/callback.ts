// Reporting a job's final state to the application: a POST of the job JSON
// (with the result) to the x-sluice-callback URL, signed as Standard Webhooks
// specifies (webhook-id, webhook-timestamp, webhook-signature: v1,<base64
// HMAC-SHA256 of "id.timestamp.body">, keyed with the base64-decoded part of
// the whsec_ secret), retried with backoff. Nothing but the hosts in
// async.callbacks.hosts is ever called.
import { createHmac } from 'node:crypto'
import { request } from 'undici'
import type { Logger } from 'pino'
import type { AsyncPolicy } from '../policy/types.js'
import { backoffDelay } from '../resilience/backoff.js'
import { resolveReference } from '../credentials/index.js'
import { jobView, resultView, type Job } from './job.js'

const CALLBACK_TIMEOUT_MS = 10_000

export function signWebhook (secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')
}

export function callbackBody (job: Job): string {
  return JSON.stringify({ ...jobView(job), ...(job.result === undefined ? {} : { result: resultView(job.result) }) })
}

/** Posts the final state until the application takes it (2xx) or the attempts run out; never throws. */
export async function sendCallback (job: Job, policy: AsyncPolicy, logger: Logger, stopped: () => boolean): Promise<void> {
  const url = job.callback
  if (url === undefined) return
  const host = new URL(url)
  if (!policy.callbacks.hosts.has(host.hostname.toLowerCase()) && !policy.callbacks.hosts.has(host.host.toLowerCase())) {
    logger.warn({ job: job.id, vendor: job.vendor }, 'callback host no longer allowed: not called')
    return
  }
  const body = callbackBody(job)
  const id = `${job.id}_${job.status}`
  for (let attempt = 1; attempt <= policy.retry.attempts && !stopped(); attempt++) {
    const ts = Math.floor(Date.now() / 1000)
    const headers: Record<string, string> = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts) }
    const secret = policy.callbacks.secret === undefined ? undefined : resolveReference(policy.callbacks.secret) ?? policy.callbacks.secret
    if (secret !== undefined) headers['webhook-signature'] = signWebhook(secret, id, ts, body)
    try {
      const res = await request(url, { method: 'POST', headers, body, headersTimeout: CALLBACK_TIMEOUT_MS, bodyTimeout: CALLBACK_TIMEOUT_MS })
      await res.body.dump()
      if (res.statusCode >= 200 && res.statusCode < 300) return
      logger.warn({ job: job.id, vendor: job.vendor, status: res.statusCode, attempt }, 'callback refused')
    } catch (err) {
      logger.warn({ job: job.id, vendor: job.vendor, err: { code: (err as { code?: string }).code }, attempt }, 'callback failed')
    }
    await new Promise(resolve => setTimeout(resolve, Math.max(10, backoffDelay(policy.retry.backoff, attempt))))
  }
}
