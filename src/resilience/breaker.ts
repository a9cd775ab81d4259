// A circuit breaker per vendor, on opossum. Opossum wraps an action and learns
// its outcome from the action's promise, but a call's outcome is known only
// when its response body ends (a "200 OK" whose JSON says it failed), long after
// the call was let through. So the forwarder asks admit() before the call and
// reports success()/failure() after it; each report fires a trivial action that
// resolves or throws, and opossum's rolling window and state machine do the rest.
//
// What opossum does not give us, added here:
// - "at least failureRate": opossum opens only above errorThresholdPercentage.
// - exactly one probe in half-open: opossum gates at fire time, which for us is
//   report time, so the probe slot is kept here from admit() to the report.
// - how long until half-open, for the 503's Retry-After.
// - a window rotated on use from the clock (opossum's rotateBucketController)
//   instead of an interval timer per vendor, and emptied when the breaker
//   closes, so failures from before it opened cannot re-open it at once.
import { EventEmitter } from 'node:events'
import CircuitBreaker from 'opossum'
import type { CircuitBreakerPolicy } from '../policy/types.js'
import { decodeBody } from './decode-body.js'
import type { AttemptOutcome } from './outcome.js'

export type BreakerState = 'closed' | 'open' | 'halfOpen'
/** 0 closed, 1 half-open, 2 open: the values of sluice_circuit_state */
export type BreakerStateCode = 0 | 1 | 2
export type Admission = { ok: true, probe: boolean } | { ok: false, retryAfterMs: number }

export interface VendorBreakerOptions {
  /**
   * A probe that has not reported after this long is taken as lost and another
   * is let through, so a forgotten report cannot keep the vendor refused for
   * good. Default: openForMs.
   */
  probeTimeoutMs?: number
}

const ADMITTED: Admission = Object.freeze({ ok: true, probe: false })
const PROBE: Admission = Object.freeze({ ok: true, probe: true })
/** what a caller refused while the probe is out should wait: the probe is usually quick */
const PROBE_PENDING_RETRY_MS = 1000
// Nudges opossum's "rate > threshold" into the policy's "rate >= failureRate";
// far below any difference two real rates can have.
const AT_LEAST = 1e-9

// The action opossum fires on each report. A failure throws synchronously, so
// opossum counts it and may open before failure() returns; a success settles a
// microtask later (opossum reads it from a promise).
const REPORTED_FAILURE = new Error('failure reported')
const RESOLVED = Promise.resolve()
const report = (ok: boolean): Promise<void> => {
  if (!ok) throw REPORTED_FAILURE
  return RESOLVED
}
const ignore = (): void => {}

export class VendorBreaker {
  readonly #cb: CircuitBreaker<[boolean], void> | undefined
  readonly #openForMs: number
  readonly #probeTimeoutMs: number
  readonly #rotator = new EventEmitter()
  readonly #bucketMs: number
  readonly #buckets: number
  /** the bucket number (time / bucketMs) opossum's newest bucket stands for */
  #bucketEpoch: number
  #openedAt = 0
  #probeOut = false
  #probeAt = 0
  #shut = false

  /** `onState` hears every change, and the initial closed state at once. */
  constructor (policy: CircuitBreakerPolicy, onState: (state: BreakerStateCode) => void, opts: VendorBreakerOptions = {}) {
    this.#openForMs = policy.openForMs
    this.#probeTimeoutMs = opts.probeTimeoutMs ?? policy.openForMs
    this.#buckets = Math.max(1, Math.min(10, Math.floor(policy.windowMs / 100)))
    this.#bucketMs = policy.windowMs / this.#buckets
    this.#bucketEpoch = Math.floor(Date.now() / this.#bucketMs)
    onState(0)
    if (!policy.enabled) return

    const cb = new CircuitBreaker(report, {
      name: 'vendor',
      timeout: false, // no timer per report: the forwarder has its own timeouts
      resetTimeout: policy.openForMs,
      errorThresholdPercentage: policy.failureRate * 100 - AT_LEAST,
      volumeThreshold: policy.minimumRequests,
      rollingCountTimeout: policy.windowMs,
      rollingCountBuckets: this.#buckets,
      rotateBucketController: this.#rotator,
      // We read no latency percentiles and no snapshots: skip sorting and a timer.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    })
    cb.on('open', () => {
      this.#openedAt = Date.now()
      this.#probeOut = false
      onState(2)
    })
    cb.on('halfOpen', () => {
      this.#probeOut = false
      onState(1)
    })
    cb.on('close', () => {
      this.#probeOut = false
      for (let i = 0; i < this.#buckets; i++) this.#rotator.emit('rotate')
      onState(0)
    })
    this.#cb = cb
  }

  get state (): BreakerState {
    const cb = this.#cb
    if (cb === undefined || this.#shut || cb.closed) return 'closed'
    return cb.halfOpen ? 'halfOpen' : 'open'
  }

  /**
   * Before a call: let it through, or refuse it with the ms until the breaker
   * half-opens. In half-open exactly one call, the probe, is let through; the
   * others are refused until it reports.
   */
  admit (): Admission {
    const cb = this.#cb
    if (cb === undefined || this.#shut || cb.closed) return ADMITTED
    const now = Date.now()
    if (cb.halfOpen) {
      if (!this.#probeOut || now - this.#probeAt >= this.#probeTimeoutMs) {
        this.#probeOut = true
        this.#probeAt = now
        return PROBE
      }
      return { ok: false, retryAfterMs: PROBE_PENDING_RETRY_MS }
    }
    return { ok: false, retryAfterMs: Math.max(1, this.#openedAt + this.#openForMs - now) }
  }

  /**
   * What admit() would answer now, without taking the probe slot: a call the
   * breaker would refuse is refused before it takes a rate-limit token, and
   * the probe is chosen by admit() once the call has its tokens.
   */
  check (): Admission {
    const cb = this.#cb
    if (cb === undefined || this.#shut || cb.closed) return ADMITTED
    const now = Date.now()
    if (cb.halfOpen) {
      if (!this.#probeOut || now - this.#probeAt >= this.#probeTimeoutMs) return PROBE
      return { ok: false, retryAfterMs: PROBE_PENDING_RETRY_MS }
    }
    return { ok: false, retryAfterMs: Math.max(1, this.#openedAt + this.#openForMs - now) }
  }

  /**
   * After an admitted call's outcome is known. Reports are not tied to the call
   * that was admitted as the probe: in half-open the first report decides, since
   * any outcome observed now says how the vendor is doing now. While open,
   * reports (of calls let through before it opened) are not counted.
   */
  success (): void {
    this.#report(true)
  }

  failure (): void {
    this.#report(false)
  }

  /** An admitted call that never reached the vendor (cancelled): frees the probe slot, counts nothing. */
  release (): void {
    if (this.#cb?.halfOpen === true) this.#probeOut = false
  }

  /** Stops opossum's reset timer. The breaker then admits everything and counts nothing. */
  shutdown (): void {
    if (this.#shut) return
    this.#shut = true
    this.#cb?.shutdown()
  }

  #report (ok: boolean): void {
    const cb = this.#cb
    if (cb === undefined || this.#shut) return
    // Open: nothing to count. Half-open without pendingClose: a report is
    // already deciding (a success settles a microtask later); opossum would
    // count this one as a rejected fire.
    if (cb.opened || (cb.halfOpen && !cb.pendingClose)) return
    this.#rotate()
    cb.fire(ok).catch(ignore)
  }

  /** Moves opossum's window on by the buckets that elapsed since the last report. */
  #rotate (): void {
    const epoch = Math.floor(Date.now() / this.#bucketMs)
    if (epoch <= this.#bucketEpoch) return
    const steps = Math.min(epoch - this.#bucketEpoch, this.#buckets)
    this.#bucketEpoch = epoch
    for (let i = 0; i < steps; i++) this.#rotator.emit('rotate')
  }
}

/** How the breaker counts a finished call: undefined when it does not count it at all. */
export type CallVerdict = 'success' | 'failure' | 'body_rule' | undefined

/**
 * The breaker's verdict on one call, judged once when the call ends: the last
 * attempt's outcome against `failOn`, then the start of a 2xx JSON body (as
 * the vendor sent it, `contentEncoding` undone) against `bodyRule`: a match is
 * a failure (`body_rule`) whatever the status said. A body that does not
 * decode or parse matches nothing. No outcome (no attempt got one): undefined.
 */
export function judgeCall (
  policy: CircuitBreakerPolicy,
  outcome: AttemptOutcome | undefined,
  body: Buffer | undefined,
  contentEncoding: string | undefined
): CallVerdict {
  if (body !== undefined && policy.bodyRule !== undefined && bodyFails(policy.bodyRule, body, contentEncoding)) return 'body_rule'
  if (outcome === undefined) return undefined
  return countsAsFailure(policy, outcome) ? 'failure' : 'success'
}

function bodyFails (rule: NonNullable<CircuitBreakerPolicy['bodyRule']>, body: Buffer, contentEncoding: string | undefined): boolean {
  const decoded = decodeBody(body, contentEncoding)
  if (decoded === undefined) return false
  let json: unknown
  try {
    json = JSON.parse(decoded.toString('utf8'))
  } catch {
    return false
  }
  return bodyRuleMatches(rule, json)
}

/** Does this outcome count against the vendor (`circuitBreaker.failOn`)? A reset counts as a connect error. */
export function countsAsFailure (policy: CircuitBreakerPolicy, outcome: AttemptOutcome): boolean {
  const failOn = policy.failOn
  switch (outcome.kind) {
    case 'status': {
      const s = outcome.status
      for (const f of failOn) {
        if (f === s || (f === '5xx' && s >= 500 && s <= 599) || (f === '4xx' && s >= 400 && s <= 499)) return true
      }
      return false
    }
    case 'timeout': return failOn.includes('timeout')
    case 'connect-error':
    case 'reset': return failOn.includes('connect-error')
  }
}

/**
 * Does a parsed JSON response body match `circuitBreaker.bodyRule` (a "200 OK"
 * that is really a failure)? The value at the path must strictly equal the
 * rule's; a missing path, or a body that is not JSON (pass it as undefined or
 * as its text), does not match. Only own properties are followed, so a path
 * such as `constructor.name` finds nothing.
 */
export function bodyRuleMatches (rule: NonNullable<CircuitBreakerPolicy['bodyRule']>, json: unknown): boolean {
  let cur = json
  for (const key of rule.path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, key)) return false
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur === rule.equals
}
