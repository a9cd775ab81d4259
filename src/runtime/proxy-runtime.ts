// The live state of one sluice process: the policy set in force and what is
// shared by every vendor. A reload builds a whole new Generation and swaps it in
// with one assignment; a call holds the generation it started with, so it
// finishes under the policy it began with.
import type { Logger } from 'pino'
import type { LoggingPolicy, PolicySet } from '../policy/types.js'
import { SCRUB_PATTERNS } from '../policy/schema.js'
import { compileScrubber, type Scrubber } from '../observability/scrubber.js'
import type { Metrics } from '../observability/metrics.js'
import type { RateLimiter } from '../ratelimit/index.js'
import type { Tracing } from '../observability/tracing.js'
import { TargetTable } from '../proxy/target.js'
import type { InterceptCa } from '../intercept/ca.js'
import { VendorRuntime, fingerprint } from './vendor-runtime.js'
import { idleWithin } from '../resilience/idle.js'
import { DeadlineSweep } from '../resilience/deadlines.js'

export class Generation {
  readonly targets: TargetTable<VendorRuntime>
  readonly byName: Map<string, VendorRuntime>

  constructor (readonly policies: PolicySet, readonly vendors: VendorRuntime[]) {
    this.targets = new TargetTable(vendors)
    this.byName = new Map(vendors.map(v => [v.name, v]))
  }
}

/** Scrubs the log line of a call that matched no vendor: built-in lists, every pattern. */
const UNMATCHED_LOGGING: LoggingPolicy = {
  bodies: false,
  maxBodyBytes: 4096,
  redact: { headers: [], fields: [], query: [], patterns: [...SCRUB_PATTERNS] },
}

export interface ProxyRuntimeOptions {
  metrics: Metrics
  logger: Logger
  limiter: RateLimiter
  /** SLUICE_CLIENT_TIMEOUT, ms */
  clientTimeoutMs: number
  /** set only when tracing is on */
  tracing?: Tracing | undefined
  /** SLUICE_CA_FILE's PEM, trusted for every vendor */
  extraCa?: string | undefined
  /** set: CONNECT tunnels to routed hosts are intercepted */
  interceptCa?: InterceptCa | undefined
}

/**
 * The runtime of a process. A service of a higher layer that the runtime
 * carries for the calls (the job service, `jobs`, set once the job store is
 * open) is declared into this class by the module that implements it
 * (declaration merging, as fastify's decorators are typed), so the runtime
 * never imports what sits above it.
 */
export class ProxyRuntime {
  readonly metrics: Metrics
  readonly logger: Logger
  readonly limiter: RateLimiter
  readonly clientTimeoutMs: number
  readonly tracing: Tracing | undefined
  readonly extraCa: string | undefined
  readonly interceptCa: InterceptCa | undefined
  readonly defaultScrubber: Scrubber = compileScrubber({ logging: UNMATCHED_LOGGING })
  current: Generation
  draining = false
  /** the last reload after start (SIGHUP or a change in the policy folder), for the status page */
  lastReload: { at: number, ok: boolean, problems: string[] } | undefined = undefined
  /** every call's timeouts.total, watched by one sweep */
  readonly deadlines = new DeadlineSweep()
  /** calls in progress, all generations */
  inFlight = 0
  private idle: (() => void) | undefined

  constructor (policies: PolicySet, opts: ProxyRuntimeOptions) {
    this.metrics = opts.metrics
    this.logger = opts.logger
    this.limiter = opts.limiter
    this.clientTimeoutMs = opts.clientTimeoutMs
    this.tracing = opts.tracing
    this.extraCa = opts.extraCa
    this.interceptCa = opts.interceptCa
    this.current = this.build(policies)
  }

  /**
   * A vendor whose compiled policy did not change keeps its runtime: its
   * connections, breaker state and credentials survive a reload of others.
   */
  private build (policies: PolicySet, previous?: Generation): Generation {
    return new Generation(policies, policies.vendors.map(p => {
      const old = previous?.byName.get(p.vendor)
      const text = fingerprint(p)
      if (old !== undefined && old.fingerprint === text) return old
      return new VendorRuntime(p, { metrics: this.metrics, logger: this.logger, extraCa: this.extraCa }, text)
    }))
  }

  /** Swaps in a new, already validated policy set; replaced vendors close once their calls end. */
  swap (policies: PolicySet): void {
    const old = this.current
    this.current = this.build(policies, old)
    const kept = new Set(this.current.vendors)
    for (const v of old.vendors) {
      if (kept.has(v)) continue
      v.close().catch(err => this.logger.warn({ vendor: v.name, err: { message: (err as Error).message } }, 'closing a replaced vendor failed'))
    }
  }

  callStarted (): void {
    this.inFlight++
  }

  callEnded (): void {
    if (--this.inFlight === 0 && this.idle !== undefined) this.idle()
  }

  /** Resolves when no call is in flight, or after timeoutMs. */
  async drained (timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return true
    return await idleWithin(onIdle => { this.idle = onIdle }, timeoutMs)
  }

  async close (): Promise<void> {
    this.deadlines.close()
    await Promise.all(this.current.vendors.map(v => v.destroy()))
    await this.limiter.close()
    await this.tracing?.shutdown()
  }
}
