// Where jobs live. One interface, two stores behind it: Redis Streams (every
// replica shares them) and a file journal (one process, the embedded default).
// Callers never branch on which.
import type { Job, JobStatus } from './job.js'

export interface JobFilter {
  status?: JobStatus | undefined
  vendor?: string | undefined
}

/** A job taken by this process; release it with settle() or put it back with requeue(). */
export interface ClaimedJob {
  job: Job
  /** store-specific handle (a stream entry id) */
  ref: string
  /** how long the hold lasts without a touch (Redis) */
  lockMs?: number
}

export interface JobStore {
  readonly kind: 'redis' | 'journal'
  /** Stores a new job durably: resolves only once it would survive a crash. */
  add (job: Job, ttlMs: number): Promise<void>
  /** Up to `max` jobs due now from `vendors`, each held by this process until settled. */
  claim (vendors: readonly string[], max: number, claimTimeoutMs: (vendor: string) => number): Promise<ClaimedJob[]>
  /** Tells the store this process still holds the job (a long attempt or wait). */
  touch (claimed: ClaimedJob): Promise<void>
  /** Writes the job's new state and lets it go: a final state kept `ttlMs`, a queued one due at job.dueAt. */
  settle (claimed: ClaimedJob, ttlMs: number): Promise<void>
  get (id: string): Promise<Job | undefined>
  list (filter: JobFilter, vendors: readonly string[], limit: number): Promise<Job[]>
  /** A dead or failed job queued again, now; undefined when there is no such job, false when it is not final. */
  requeue (id: string, ttlMs: (vendor: string) => number): Promise<Job | false | undefined>
  /** Removes a job; false when there was none. */
  remove (id: string): Promise<boolean>
  /** Jobs waiting or running, per vendor. */
  pending (vendors: readonly string[]): Promise<Map<string, number>>
  /** Resolves when a job may have become due (a new one, or after at most `ms`). */
  wait (ms: number): Promise<void>
  close (): Promise<void>
}
