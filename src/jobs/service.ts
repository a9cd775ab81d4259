// Asynchronous calls, as the rest of sluice sees them: the store (Redis or
// the journal, chosen once at start), the worker loop, callbacks and metrics.
import type { Logger } from 'pino'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import type { AsyncPolicy } from '../policy/types.js'
import { SluiceError } from '../errors.js'
import { FINAL, type Job } from './job.js'
import type { JobFilter, JobStore } from './store.js'
import { JobWorker } from './worker.js'
import { sendCallback } from './callback.js'

/** jobs one replica attempts at once (each still within its vendor's limits.concurrency) */
const WORKER_CONCURRENCY = 64
const DAY_MS = 24 * 3600_000

declare module '../runtime/proxy-runtime.js' {
  interface ProxyRuntime {
    /** asynchronous calls (Prefer: respond-async); set once the job store is open, undefined before (and without one) */
    jobs: Jobs | undefined
  }
}

export class Jobs {
  private readonly worker: JobWorker
  private stopped = false
  private readonly callbacks = new Set<Promise<void>>()

  constructor (readonly store: JobStore, private readonly runtime: ProxyRuntime, private readonly logger: Logger) {
    this.worker = new JobWorker(runtime, store, logger, WORKER_CONCURRENCY, { final: (job) => this.final(job) })
    runtime.metrics.jobsPendingSource = () => store.pending(this.vendors())
  }

  start (): void {
    this.worker.start()
  }

  private vendors (): string[] {
    return this.runtime.current.vendors.filter(v => v.policy.async.enabled).map(v => v.name)
  }

  private policyOf (vendor: string): AsyncPolicy | undefined {
    return this.runtime.current.byName.get(vendor)?.policy.async
  }

  /** Stores a new job; it is durable once this resolves. */
  async accept (job: Job, policy: AsyncPolicy): Promise<void> {
    try {
      await this.store.add(job, policy.maxAgeMs + policy.resultTtlMs)
    } catch (err) {
      throw new SluiceError('jobs_unavailable', 'the job store cannot take the job now; it was not accepted', { cause: err })
    }
  }

  get (id: string): Promise<Job | undefined> {
    return this.store.get(id)
  }

  list (filter: JobFilter, limit: number): Promise<Job[]> {
    return this.store.list(filter, this.vendors(), limit)
  }

  requeue (id: string): Promise<Job | false | undefined> {
    return this.store.requeue(id, (v) => {
      const p = this.policyOf(v)
      return p === undefined ? DAY_MS : p.maxAgeMs + p.resultTtlMs
    })
  }

  remove (id: string): Promise<boolean> {
    return this.store.remove(id)
  }

  private final (job: Job): void {
    const metrics = this.runtime.metrics
    metrics.jobs.inc({ vendor: job.vendor, result: job.status })
    metrics.jobAge.observe({ vendor: job.vendor }, (job.updatedAt - job.createdAt) / 1000)
    this.logger.info({ job: job.id, vendor: job.vendor, status: job.status, attempts: job.attempts, error: job.error }, 'job final')
    const policy = this.policyOf(job.vendor)
    if (job.callback === undefined || policy === undefined || !FINAL.has(job.status)) return
    const p = sendCallback(job, policy, this.logger, () => this.stopped).finally(() => this.callbacks.delete(p))
    this.callbacks.add(p)
  }

  /** Stops taking jobs and waits (up to timeoutMs) for the attempts in hand. */
  async stop (timeoutMs: number): Promise<void> {
    const done = await this.worker.stop(timeoutMs)
    if (!done) this.logger.warn({ inFlight: this.worker.inFlight }, 'drain timeout passed with jobs in hand: they are taken over later')
    this.stopped = true
  }

  async close (): Promise<void> {
    this.stopped = true
    this.runtime.metrics.jobsPendingSource = undefined
    await this.store.close()
  }
}
