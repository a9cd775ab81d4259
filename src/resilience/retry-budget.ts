// A per-vendor retry budget: retries may add at most `ratio` of the first
// attempts seen over a rolling window. When a vendor fails hard, retries would
// otherwise multiply its load by `attempts` exactly when it can least take it.
//
// The window is a ring of buckets rotated on use from the clock, with no timer,
// so an idle vendor costs nothing and fake timers drive it in tests.

export interface RetryBudgetOptions {
  /** rolling window, default 10 s */
  windowMs?: number
  /** bucket width, default 1 s */
  bucketMs?: number
  /**
   * Retries always allowed per bucket, whatever the ratio, so a quiet vendor
   * (one call now and then) can still retry it. Default 3.
   */
  minPerBucket?: number
  now?: () => number
}

export class RetryBudget {
  readonly ratio: number
  readonly #bucketMs: number
  readonly #minPerBucket: number
  readonly #now: () => number
  readonly #firsts: Float64Array
  readonly #retries: Float64Array
  /** index of the newest bucket in the ring */
  #head = 0
  /** the bucket number (time / bucketMs) the head stands for */
  #headEpoch: number
  #firstsTotal = 0
  #retriesTotal = 0

  constructor (ratio: number, opts: RetryBudgetOptions = {}) {
    const windowMs = opts.windowMs ?? 10_000
    this.#bucketMs = opts.bucketMs ?? 1000
    if (!(ratio >= 0) || !(this.#bucketMs > 0) || !(windowMs >= this.#bucketMs)) {
      throw new RangeError('retry budget needs ratio >= 0 and windowMs >= bucketMs > 0')
    }
    const size = Math.ceil(windowMs / this.#bucketMs)
    this.ratio = ratio
    this.#minPerBucket = opts.minPerBucket ?? 3
    this.#now = opts.now ?? Date.now
    this.#firsts = new Float64Array(size)
    this.#retries = new Float64Array(size)
    this.#headEpoch = Math.floor(this.#now() / this.#bucketMs)
  }

  /** Counts a first attempt: it earns `ratio` of a retry. */
  recordFirstAttempt (): void {
    this.#rotate()
    this.#firsts[this.#head]!++
    this.#firstsTotal++
  }

  /** True, and the retry counted, when the budget allows one more retry now. */
  tryRetry (): boolean {
    this.#rotate()
    const allowed = this.#retriesTotal < this.#firstsTotal * this.ratio ||
      this.#retries[this.#head]! < this.#minPerBucket
    if (allowed) {
      this.#retries[this.#head]!++
      this.#retriesTotal++
    }
    return allowed
  }

  /** Retries and first attempts in the window, for tests and explain. */
  get counts (): { firsts: number, retries: number } {
    this.#rotate()
    return { firsts: this.#firstsTotal, retries: this.#retriesTotal }
  }

  #rotate (): void {
    const epoch = Math.floor(this.#now() / this.#bucketMs)
    let steps = epoch - this.#headEpoch
    // A clock that went backwards keeps counting in the newest bucket.
    if (steps <= 0) return
    this.#headEpoch = epoch
    const size = this.#firsts.length
    if (steps >= size) {
      this.#firsts.fill(0)
      this.#retries.fill(0)
      this.#firstsTotal = 0
      this.#retriesTotal = 0
      return
    }
    while (steps-- > 0) {
      this.#head = (this.#head + 1) % size
      this.#firstsTotal -= this.#firsts[this.#head]!
      this.#retriesTotal -= this.#retries[this.#head]!
      this.#firsts[this.#head] = 0
      this.#retries[this.#head] = 0
    }
  }
}
