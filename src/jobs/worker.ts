// The delivery loop every replica runs: take due jobs from the store (up to a
// number in flight), attempt each through the vendor's policy, write the
// outcome back, report final states. While a job is held, the store is told
// so at a third of its claimTimeout, so no other replica takes it over while it
// runs; a replica that dies stops telling, and another one takes it.
import type { Logger } from 'pino'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'
import { attemptJob } from './deliver.js'
import { applyAttempt, expired, markExpired } from './outcome.js'
import { FINAL, type Job } from './job.js'
import type { ClaimedJob, JobStore } from './store.js'
import { idleWithin } from '../resilience/idle.js'

const IDLE_POLL_MS = 250
const STORE_RETRY_MS = 200

export interface WorkerHooks {
  /** a job reached its final state */
  final (job: Job): void
}

export class JobWorker {
  private running = 0
  private stopped = false
  private wakeLoop: (() => void) | undefined
  private idle: (() => void) | undefined
  private loopDone: Promise<void> | undefined
  private storeDown = false

  constructor (
    private readonly runtime: ProxyRuntime,
    private readonly store: JobStore,
    private readonly logger: Logger,
    private readonly concurrency: number,
    private readonly hooks: WorkerHooks
  ) {}

  start (): void {
    this.loopDone = this.loop()
  }

  /** Stops taking jobs; resolves once the jobs in hand are settled, or after timeoutMs (they stay held, and are taken over later). */
  async stop (timeoutMs: number): Promise<boolean> {
    this.stopped = true
    this.wakeLoop?.()
    await this.loopDone
    if (this.running === 0) return true
    return await idleWithin(onIdle => { this.idle = onIdle }, timeoutMs)
  }

  get inFlight (): number {
    return this.running
  }

  private vendors (): string[] {
    return this.runtime.current.vendors.filter(v => v.policy.async.enabled).map(v => v.name)
  }

  private async loop (): Promise<void> {
    while (!this.stopped && !this.runtime.draining) {
      const room = this.concurrency - this.running
      const vendors = this.vendors()
      if (room > 0 && vendors.length > 0) {
        let claimed: ClaimedJob[]
        try {
          claimed = await this.store.claim(vendors, room, (v) => this.claimTimeout(v))
          if (this.storeDown) this.logger.info({}, 'job store reachable again')
          this.storeDown = false
        } catch (err) {
          if (!this.storeDown) this.logger.warn({ err: { message: (err as Error).message } }, 'job store unreachable: jobs wait')
          this.storeDown = true
          await this.pause(STORE_RETRY_MS)
          continue
        }
        if (this.stopped || this.runtime.draining) {
          // taken in the same turn as the stop: they stay held and are taken over after claimTimeout
          // (journal: they run again after a restart); never run twice at once.
          break
        }
        for (const c of claimed) this.run(c).catch(() => {})
        if (claimed.length === room) continue
      }
      await Promise.race([this.store.wait(IDLE_POLL_MS), new Promise<void>(resolve => { this.wakeLoop = resolve })])
      this.wakeLoop = undefined
    }
  }

  private pause (ms: number): Promise<void> {
    return new Promise(resolve => {
      const t = setTimeout(resolve, ms)
      this.wakeLoop = () => { clearTimeout(t); resolve() }
    })
  }

  private claimTimeout (vendor: string): number {
    return this.runtime.current.byName.get(vendor)?.policy.async.claimTimeoutMs ?? 60_000
  }

  private async run (c: ClaimedJob): Promise<void> {
    this.running++
    const job = c.job
    const heartbeat = setInterval(() => { this.store.touch(c).catch(() => {}) }, Math.max(100, Math.floor(this.claimTimeout(job.vendor) / 3)))
    try {
      const vendor = this.runtime.current.byName.get(job.vendor)
      const policy = vendor?.policy.async
      const now = Date.now()
      if (policy !== undefined && expired(job, policy, now)) {
        markExpired(job, now)
      } else if (policy === undefined) {
        // the vendor left the policies: nothing can send it any more
        Object.assign(job, { status: 'failed', error: 'no_route', updatedAt: now })
      } else {
        const report = await attemptJob(this.runtime, job, policy.maxBodyBytes)
        applyAttempt(job, report, policy, Date.now())
      }
      await this.settle(c, policy?.resultTtlMs ?? 24 * 3600_000)
      if (FINAL.has(job.status)) this.hooks.final(job)
    } catch (err) {
      this.logger.error({ err: { message: (err as Error).message, stack: (err as Error).stack }, job: job.id }, 'job attempt failed in sluice')
    } finally {
      clearInterval(heartbeat)
      if (--this.running === 0) this.idle?.()
      this.wakeLoop?.()
    }
  }

  /** The outcome must reach the store: it is written again until it does (or sluice stops; then the job is taken over later). */
  private async settle (c: ClaimedJob, ttlMs: number): Promise<void> {
    for (;;) {
      try {
        await this.store.settle(c, ttlMs)
        return
      } catch (err) {
        if (this.stopped) throw err
        if (!this.storeDown) this.logger.warn({ err: { message: (err as Error).message } }, 'job store unreachable: a job outcome waits to be written')
        this.storeDown = true
        this.store.touch(c).catch(() => {})
        await new Promise(resolve => setTimeout(resolve, STORE_RETRY_MS))
      }
    }
  }
}
