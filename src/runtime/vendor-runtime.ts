// What a call to one vendor needs, built once per policy load: the compiled
// policy and the live objects that carry state between calls (connection pool,
// breaker, bulkhead, retry budget, credentials, scrubber).
import type { Pool } from 'undici'
import type { Logger } from 'pino'
import type { VendorPolicy } from '../policy/types.js'
import type { Metrics, VendorMetrics } from '../observability/metrics.js'
import type { AttemptVendor } from '../proxy/attempt.js'
import { createVendorPool } from '../proxy/dispatcher.js'
import { VendorTls } from '../proxy/tls.js'
import { VendorBreaker } from '../resilience/breaker.js'
import { Bulkhead } from '../resilience/bulkhead.js'
import { RetryBudget } from '../resilience/retry-budget.js'
import { createCredentials, type VendorCredentials } from '../credentials/index.js'
import { compileScrubber, type Scrubber } from '../observability/scrubber.js'
import { compilePlan, type Plan } from '../ratelimit/index.js'

export class VendorRuntime implements AttemptVendor {
  readonly name: string
  readonly pool: Pool
  readonly metrics: VendorMetrics
  readonly breaker: VendorBreaker
  readonly bulkhead: Bulkhead
  readonly retryBudget: RetryBudget
  readonly credentials: VendorCredentials
  /** the TLS context and its files; undefined when Node's defaults serve */
  readonly tls: VendorTls | undefined
  readonly scrubber: Scrubber
  /** the rate limit as the limiter reads it: key prefixes, script arguments, counters, costs, advertised headers */
  readonly rateLimitPlan: Plan
  /** every spelling of the upstream base URL that Location/Link may carry */
  readonly upstreamUrls: readonly string[]
  /** a circuit breaker body rule reads the start of JSON 2xx response bodies */
  readonly readsRuleBody: boolean
  /** logging.bodies: the most response body bytes kept for the log */
  readonly logBodyBytes: number | undefined
  /** the effective policy as text: equal fingerprints, equal behaviour */
  readonly fingerprint: string
  /** calls using this runtime right now; close() waits for them */
  inFlight = 0
  private closing: (() => void) | undefined

  /** `fingerprintText`: fingerprint(policy), when the caller has already worked it out */
  constructor (readonly policy: VendorPolicy, deps: { metrics: Metrics, logger: Logger, extraCa?: string | undefined }, fingerprintText = fingerprint(policy)) {
    this.name = policy.vendor
    this.fingerprint = fingerprintText
    this.metrics = deps.metrics.vendor(policy.vendor)
    this.tls = policy.origin.startsWith('https:') && VendorTls.needed(policy, deps.extraCa)
      ? new VendorTls(policy, { extraCa: deps.extraCa, logger: deps.logger })
      : undefined
    this.pool = createVendorPool(policy, this.tls)
    this.breaker = new VendorBreaker(policy.circuitBreaker, (s) => this.metrics.circuit(s))
    this.bulkhead = new Bulkhead(policy.limits.concurrency)
    this.retryBudget = new RetryBudget(policy.retry.budget)
    this.credentials = createCredentials(policy, { logger: deps.logger, onAvailability: (ok) => this.metrics.credentials(ok) })
    this.metrics.watchCredentials(this.probeCredentials)
    this.scrubber = compileScrubber({
      logging: policy.logging,
      injectedQuery: Object.keys(policy.inject.query),
      secrets: () => this.credentials.secrets(),
    })
    this.upstreamUrls = upstreamSpellings(policy)
    this.rateLimitPlan = compilePlan(policy, deps.metrics)
    this.readsRuleBody = policy.circuitBreaker.bodyRule !== undefined
    this.logBodyBytes = policy.logging.bodies ? policy.logging.maxBodyBytes : undefined
  }

  private readonly probeCredentials = (): void => { this.credentials.available() }

  enter (): void {
    this.inFlight++
  }

  leave (): void {
    if (--this.inFlight === 0 && this.closing !== undefined) this.closing()
  }

  /** Closes once the calls in flight (started under this policy) are over. */
  async close (): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>(resolve => { this.closing = resolve })
    this.breaker.shutdown()
    this.metrics.unwatchCredentials(this.probeCredentials)
    this.credentials.close()
    this.tls?.close()
    await this.pool.close()
  }

  /** Closes now, cutting what is in flight. */
  async destroy (): Promise<void> {
    this.breaker.shutdown()
    this.metrics.unwatchCredentials(this.probeCredentials)
    this.credentials.close()
    this.tls?.close()
    await this.pool.destroy()
  }
}

/** The compiled policy as text (templates, not resolved secrets): never logged. */
export function fingerprint (policy: VendorPolicy): string {
  return JSON.stringify(policy, (_key, value: unknown) => value instanceof Set ? [...value as Set<unknown>] : value instanceof RegExp ? value.source : value)
}

function upstreamSpellings (p: VendorPolicy): string[] {
  const url = new URL(p.origin)
  const defaultPort = url.protocol === 'https:' ? '443' : '80'
  const host = url.hostname
  const port = url.port === '' ? defaultPort : url.port
  const forms = new Set<string>([`${url.protocol}//${host}:${port}${p.basePath}`])
  if (port === defaultPort) forms.add(`${url.protocol}//${host}${p.basePath}`)
  // Longest first, so "https://h:443/base" is replaced before "https://h/base" could match inside it.
  return [...forms].sort((a, b) => b.length - a.length)
}
