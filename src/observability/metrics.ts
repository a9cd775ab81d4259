// Every metric sluice exports, declared in one place (README "Admin listener"). Each app
// owns its registry so several apps can live in one test process. Label sets
// that a call touches are resolved once per vendor (vendorMetrics) so the hot
// path does no label hashing for them: the two durations every call observes
// are CallHistograms, and the counts every call adds to (requests, rate-limit
// decisions) are DeferredCounts, handed to prom-client when /metrics is read.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { CallHistogram, type HistogramSeries } from './call-histogram.js'
import { CallWindow } from './call-window.js'

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export type UpstreamErrorKind = 'timeout' | 'connect' | 'reset' | '5xx' | 'body_rule' | 'tls'
export type RateLimitDecision = 'allowed' | 'queued' | 'rejected'

export class Metrics {
  readonly registry = new Registry()

  private readonly byVendor = new Map<string, VendorMetrics>()
  /** the DeferredCounts of each counter, by label values; flushed when that counter is collected */
  private readonly deferred = new Map<Counter, Map<string, DeferredCount>>()

  readonly requests = this.deferredCounter(
    'sluice_requests_total',
    'Calls answered, by vendor, method and status (sluice\'s own answers included)',
    ['vendor', 'method', 'status']
  )

  readonly requestDuration = new CallHistogram(
    'sluice_request_duration_seconds',
    'Whole call as the client sees it, queueing and retries included',
    'vendor', LATENCY_BUCKETS, this.registry
  )

  readonly upstreamDuration = new CallHistogram(
    'sluice_upstream_duration_seconds',
    'Time from sending an attempt to its response headers',
    'vendor', LATENCY_BUCKETS, this.registry
  )

  readonly rateLimitDecisions = this.deferredCounter('sluice_ratelimit_decisions_total', 'Token bucket decisions', ['vendor', 'bucket', 'decision'])

  readonly rateLimitWait = new Histogram({
    name: 'sluice_ratelimit_wait_seconds',
    help: 'Time calls spent queued for a token',
    labelNames: ['vendor'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  })

  readonly retries = this.counter('sluice_retries_total', 'Attempts after the first, by the reason for retrying', ['vendor', 'reason'])

  readonly upstreamErrors = this.counter('sluice_upstream_errors_total', 'Failed upstream attempts, by kind', ['vendor', 'kind'])

  readonly tunnels = this.counter('sluice_tunnels_total', 'CONNECT tunnels asked for while interception is on: intercepted, handshake_failed (the client did not accept the minted certificate) or refused (no policy routes the host)', ['vendor', 'result'])

  readonly circuitState = new Gauge({
    name: 'sluice_circuit_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['vendor'] as const,
    registers: [this.registry],
  })

  readonly policyReloads = this.counter('sluice_policy_reloads_total', 'Policy reloads, by result', ['result'])

  /** by vendor, how to ask its credentials again: a scrape sees a secret file that appeared with no call made */
  readonly credentialProbes = new Map<string, () => void>()

  readonly credentialAvailable: Gauge<'vendor'> = new Gauge({
    name: 'sluice_credential_available',
    help: '1 when every credential of the vendor can be had (secrets resolved, OAuth2 token obtainable), 0 otherwise',
    labelNames: ['vendor'] as const,
    registers: [this.registry],
    collect: (): void => { for (const probe of this.credentialProbes.values()) probe() },
  })

  /** exported only when Redis is configured: a replica without it is healthy on local buckets */
  readonly redisUp: Gauge
  /** replicas sharing the Redis at its last answer (Redis configured only, as redis_up) */
  readonly replicasSeen: Gauge

  readonly jobs = this.counter('sluice_jobs_total', 'Asynchronous jobs that reached a final state, by result (succeeded, failed, dead)', ['vendor', 'result'])

  /** where sluice_jobs_pending reads its counts from (the job store), once it is open */
  jobsPendingSource: (() => Promise<Map<string, number>>) | undefined = undefined

  readonly jobsPending: Gauge<'vendor'> = new Gauge({
    name: 'sluice_jobs_pending',
    help: 'Asynchronous jobs queued or running, by vendor (shared by every replica with Redis)',
    labelNames: ['vendor'] as const,
    registers: [this.registry],
    collect: async (): Promise<void> => {
      const source = this.jobsPendingSource
      if (source === undefined) return
      try {
        for (const [vendor, n] of await source()) this.jobsPending.set({ vendor }, n)
      } catch { /* the store is unreachable: the last counts stay */ }
    },
  })

  readonly jobAge = new Histogram({
    name: 'sluice_job_age_seconds',
    help: 'Age of a job when it reached its final state',
    labelNames: ['vendor'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    registers: [this.registry],
  })

  constructor (opts: { processMetrics?: boolean, redis?: boolean } = {}) {
    this.redisUp = new Gauge({
      name: 'sluice_redis_up',
      help: '1 when the rate limit store in Redis answers, 0 when sluice runs on local buckets',
      registers: opts.redis === true ? [this.registry] : [],
    })
    this.replicasSeen = new Gauge({
      name: 'sluice_replicas_seen',
      help: 'Replicas sharing the Redis at its last answer; while it is down each replica\'s local buckets get this share of capacity and refill',
      registers: opts.redis === true ? [this.registry] : [],
    })
    // unprefixed (process_*, nodejs_*), as dashboards and alerts for any Node service expect
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
    // Known from the start, so a scrape shows them at zero.
    this.policyReloads.inc({ result: 'success' }, 0)
    this.policyReloads.inc({ result: 'failure' }, 0)
  }

  /** One label set of `counter`, counted cheaply per call; the same object for the same labels, across policy reloads. */
  deferredCount (counter: Counter, ...labels: string[]): DeferredCount {
    let byLabels = this.deferred.get(counter)
    if (byLabels === undefined) {
      byLabels = new Map()
      this.deferred.set(counter, byLabels)
    }
    const key = labels.join('\u0000')
    let count = byLabels.get(key)
    if (count === undefined) {
      count = new DeferredCount(counter.labels(...labels))
      byLabels.set(key, count)
    }
    return count
  }

  /** A plain counter in this app's registry. */
  private counter<L extends string> (name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] })
  }

  /** A counter fed through DeferredCounts: what was counted since the last read joins it as /metrics is read. */
  private deferredCounter<L extends string> (name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const counter: Counter<L> = new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect: (): void => { this.flushDeferred(counter) },
    })
    return counter
  }

  private flushDeferred (counter: Counter): void {
    const byLabels = this.deferred.get(counter)
    if (byLabels !== undefined) for (const count of byLabels.values()) count.flush()
  }

  /** The per-vendor label sets a call needs, resolved once. */
  vendor (vendor: string): VendorMetrics {
    let vm = this.byVendor.get(vendor)
    if (vm === undefined) {
      vm = new VendorMetrics(this, vendor)
      this.byVendor.set(vendor, vm)
    }
    return vm
  }
}

/**
 * One label set of a counter that every call adds to. prom-client hashes and
 * checks the labels on each inc(), even through labels(); this adds to a
 * number, and the sum joins the counter when it is collected.
 */
export class DeferredCount {
  #pending = 0

  constructor (private readonly child: Counter.Internal) {}

  inc (): void {
    this.#pending++
  }

  flush (): void {
    if (this.#pending === 0) return
    this.child.inc(this.#pending)
    this.#pending = 0
  }
}

export class VendorMetrics {
  readonly requestDuration: HistogramSeries
  readonly upstreamDuration: HistogramSeries
  readonly rateLimitWait
  /** calls and 5xx answers over the last minute (the status page) */
  readonly window = new CallWindow()
  private readonly requestCounts = new Map<string, DeferredCount>()
  private readonly errorCounters = new Map<string, Counter.Internal>()

  constructor (private readonly metrics: Metrics, readonly vendor: string) {
    this.requestDuration = metrics.requestDuration.labels(vendor)
    this.upstreamDuration = metrics.upstreamDuration.labels(vendor)
    this.rateLimitWait = metrics.rateLimitWait.labels(vendor)
  }

  request (method: string, status: number, seconds: number): void {
    const key = method + ' ' + status
    let c = this.requestCounts.get(key)
    if (c === undefined) {
      c = this.metrics.deferredCount(this.metrics.requests, this.vendor, method, String(status))
      this.requestCounts.set(key, c)
    }
    c.inc()
    this.requestDuration.observe(seconds)
    this.window.record(status >= 500, Date.now())
  }

  upstreamError (kind: UpstreamErrorKind): void {
    let c = this.errorCounters.get(kind)
    if (c === undefined) {
      c = this.metrics.upstreamErrors.labels(this.vendor, kind)
      this.errorCounters.set(kind, c)
    }
    c.inc()
  }

  retry (reason: string): void {
    this.metrics.retries.inc({ vendor: this.vendor, reason })
  }

  circuit (state: number): void {
    this.metrics.circuitState.set({ vendor: this.vendor }, state)
  }

  credentials (available: boolean): void {
    this.metrics.credentialAvailable.set({ vendor: this.vendor }, available ? 1 : 0)
  }

  /** `probe` re-reads this vendor's credentials at each scrape (a reload's runtime replaces the old one's). */
  watchCredentials (probe: () => void): void {
    this.metrics.credentialProbes.set(this.vendor, probe)
  }

  /** The vendor is gone (not replaced): its gauge goes too. */
  unwatchCredentials (probe: () => void): void {
    if (this.metrics.credentialProbes.get(this.vendor) !== probe) return
    this.metrics.credentialProbes.delete(this.vendor)
    this.metrics.credentialAvailable.remove({ vendor: this.vendor })
  }
}
