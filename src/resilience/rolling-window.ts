// The breaker's rolling window: the calls and failures of about the last
// windowMs, in up to 10 buckets on a fixed ring of counters. It moves on from
// the clock when it is used, so an idle vendor costs no timer, and counting a
// call allocates nothing.
//
// A bucket stands for bucketMs of clock time (bucket number = floor(now /
// bucketMs)); a call counts until its bucket is the 11th newest, so between
// windowMs - bucketMs and windowMs after it was counted.

/** buckets of at least 100 ms, at most 10 of them */
const MAX_BUCKETS = 10
const MIN_BUCKET_MS = 100

export class RollingWindow {
  readonly #bucketMs: number
  readonly #calls: Uint32Array
  readonly #failures: Uint32Array
  /** the bucket number the head bucket stands for */
  #epoch: number
  #head: number
  #callsTotal = 0
  #failuresTotal = 0

  constructor (windowMs: number, now: number) {
    const buckets = Math.max(1, Math.min(MAX_BUCKETS, Math.floor(windowMs / MIN_BUCKET_MS)))
    this.#bucketMs = windowMs / buckets
    this.#calls = new Uint32Array(buckets)
    this.#failures = new Uint32Array(buckets)
    this.#epoch = Math.floor(now / this.#bucketMs)
    this.#head = this.#epoch % buckets
  }

  /** calls counted in the window as of the last add() */
  get calls (): number { return this.#callsTotal }

  /** failures among them */
  get failures (): number { return this.#failuresTotal }

  /** Counts one call at `now`, after dropping the buckets that fell out of the window. */
  add (failed: boolean, now: number): void {
    const epoch = Math.floor(now / this.#bucketMs)
    if (epoch > this.#epoch) this.#advance(epoch)
    const head = this.#head
    this.#calls[head]!++
    this.#callsTotal++
    if (failed) {
      this.#failures[head]!++
      this.#failuresTotal++
    }
  }

  /** Forgets every call. */
  clear (): void {
    this.#calls.fill(0)
    this.#failures.fill(0)
    this.#callsTotal = 0
    this.#failuresTotal = 0
  }

  #advance (epoch: number): void {
    const n = this.#calls.length
    const steps = epoch - this.#epoch
    this.#epoch = epoch
    this.#head = epoch % n
    if (steps >= n) {
      this.clear()
      return
    }
    // empty the buckets the head moved onto, oldest first; the head is the last of them
    for (let i = 1; i <= steps; i++) {
      const b = (this.#head - steps + i + n) % n
      this.#callsTotal -= this.#calls[b]!
      this.#failuresTotal -= this.#failures[b]!
      this.#calls[b] = 0
      this.#failures[b] = 0
    }
  }
}
