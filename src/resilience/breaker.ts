// A circuit breaker per vendor. A call's outcome is known only when its
// response body ends (a "200 OK" whose JSON says it failed), long after the
// call was let through, so the forwarder asks admit() before the call and
// reports success()/failure() after it.
//
// It counts in place (RollingWindow: a fixed ring of counters) rather than on
// opossum, which learns outcomes from an action's promise: firing a trivial
// action per report cost about 1 µs and 1.2 KB of garbage a call, and feeding
// opossum's events without fire() still a few hundred ns and 50 B
// (bench/breaker.js). Nothing on the report path awaits or allocates (but
// Date.now()'s boxed result), so a report decides at once. The one timer is
// per open episode, so the state (and sluice_circuit_state) turns half-open
// after openFor with no call.
import type { CircuitBreakerPolicy } from '../policy/types.js'
import { decodeBody } from './decode-body.js'
import type { AttemptOutcome } from './outcome.js'
import { RollingWindow } from './rolling-window.js'

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

const CLOSED = 0
const HALF_OPEN = 1
const OPEN = 2
const STATE_NAMES: readonly BreakerState[] = ['closed', 'halfOpen', 'open']

const ADMITTED: Admission = Object.freeze({ ok: true, probe: false })
const PROBE: Admission = Object.freeze({ ok: true, probe: true })
/** what a caller refused while the probe is out should wait: the probe is usually quick */
const PROBE_PENDING_RETRY_MS = 1000
// "failures / calls >= failureRate" without the float error of the division
// (55 of 100 is 0.55, but 0.55 * 100 is 55.00000000000001); far below any
// difference two real rates can have.
const AT_LEAST = 1e-9

export class VendorBreaker {
  readonly #onState: (state: BreakerStateCode) => void
  readonly #openForMs: number
  readonly #probeTimeoutMs: number
  readonly #minimumRequests: number
  readonly #failureRate: number
  /** undefined when the policy disables the breaker */
  readonly #window: RollingWindow | undefined
  #state: BreakerStateCode = CLOSED
  /** false once shut down or when disabled: nothing is counted, everything admitted */
  #live: boolean
  #openedAt = 0
  #timer: NodeJS.Timeout | undefined
  #probeOut = false
  #probeAt = 0

  /** `onState` hears every change, and the initial closed state at once. */
  constructor (policy: CircuitBreakerPolicy, onState: (state: BreakerStateCode) => void, opts: VendorBreakerOptions = {}) {
    this.#onState = onState
    this.#openForMs = policy.openForMs
    this.#probeTimeoutMs = opts.probeTimeoutMs ?? policy.openForMs
    this.#minimumRequests = policy.minimumRequests
    this.#failureRate = policy.failureRate - AT_LEAST
    this.#live = policy.enabled
    this.#window = policy.enabled ? new RollingWindow(policy.windowMs, Date.now()) : undefined
    onState(CLOSED)
  }

  get state (): BreakerState {
    return STATE_NAMES[this.#state]!
  }

  /**
   * Before a call: let it through, or refuse it with the ms until the breaker
   * half-opens. In half-open exactly one call, the probe, is let through; the
   * others are refused until it reports.
   */
  admit (): Admission {
    if (this.#state === CLOSED) return ADMITTED
    const now = Date.now()
    if (this.#state === HALF_OPEN) {
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
    if (this.#state === CLOSED) return ADMITTED
    const now = Date.now()
    if (this.#state === HALF_OPEN) {
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
    if (!this.#live) return
    if (this.#state === CLOSED) this.#window!.add(false, Date.now())
    else if (this.#state === HALF_OPEN) this.#close()
  }

  failure (): void {
    if (!this.#live) return
    if (this.#state === CLOSED) {
      const w = this.#window!
      w.add(true, Date.now())
      if (w.calls >= this.#minimumRequests && w.failures >= this.#failureRate * w.calls) this.#open()
    } else if (this.#state === HALF_OPEN) {
      this.#open()
    }
  }

  /** An admitted call that never reached the vendor (cancelled): frees the probe slot, counts nothing. */
  release (): void {
    if (this.#state === HALF_OPEN) this.#probeOut = false
  }

  /** Stops the half-open timer. The breaker then admits everything and counts nothing. */
  shutdown (): void {
    this.#live = false
    this.#state = CLOSED
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #open (): void {
    this.#state = OPEN
    this.#openedAt = Date.now()
    this.#probeOut = false
    // unref: an open breaker must not hold the process open
    this.#timer = setTimeout(this.#halfOpen, this.#openForMs).unref()
    this.#onState(OPEN)
  }

  readonly #halfOpen = (): void => {
    this.#timer = undefined
    this.#state = HALF_OPEN
    this.#probeOut = false
    this.#onState(HALF_OPEN)
  }

  #close (): void {
    this.#state = CLOSED
    this.#probeOut = false
    // a fresh window: failures from before it opened must not re-open it at once
    this.#window!.clear()
    this.#onState(CLOSED)
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
      for (let i = 0; i < failOn.length; i++) {
        const f = failOn[i]
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
