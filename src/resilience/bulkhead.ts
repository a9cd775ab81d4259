// Caps the calls in flight to one vendor (limits.concurrency), so one slow vendor
// cannot hold every socket and every byte of memory. No queue on purpose: a
// call over the limit is answered 503 overloaded at once, and the client's own
// retry, or the vendor recovering, takes it from there.

export class Bulkhead {
  readonly limit: number
  #inFlight = 0

  constructor (limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('bulkhead limit must be a positive integer')
    this.limit = limit
  }

  /** Takes a slot if one is free. Every true must be paired with one leave(). */
  tryEnter (): boolean {
    if (this.#inFlight >= this.limit) return false
    this.#inFlight++
    return true
  }

  leave (): void {
    // A double leave must not hand out a slot that does not exist.
    if (this.#inFlight > 0) this.#inFlight--
  }
}
