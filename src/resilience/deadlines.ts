// Every call's timeouts.total, watched by one sweep instead of a timer per
// call. A Node timer is an object per call (set, then cleared on almost every
// call, since most calls end long before their deadline) that can live long
// enough to be promoted; here a call is only linked into an intrusive list,
// and one interval, running only while the list is non-empty, ends the calls
// whose deadline has passed. A deadline is therefore kept to within
// SWEEP_MS, which is far below any timeouts.total a policy can state.

/** How often the sweep looks: the most a deadline can be overrun by. */
export const SWEEP_MS = 100

/** A call with a deadline, linked into the sweep's list through its own fields. */
export interface Deadlined {
  /** epoch ms by which the call must be over */
  deadline: number
  deadlineNext: Deadlined | undefined
  deadlinePrev: Deadlined | undefined
  /** linked into a sweep's list now */
  deadlineWatched: boolean
  /** the deadline passed: the sweep has unlinked the call and calls this once */
  deadlineReached (): void
}

export class DeadlineSweep {
  #head: Deadlined | undefined = undefined
  #timer: NodeJS.Timeout | undefined = undefined
  #size = 0

  /** calls watched now */
  get size (): number {
    return this.#size
  }

  watch (call: Deadlined): void {
    if (call.deadlineWatched) return
    call.deadlineWatched = true
    call.deadlinePrev = undefined
    call.deadlineNext = this.#head
    if (this.#head !== undefined) this.#head.deadlinePrev = call
    this.#head = call
    if (this.#size++ === 0) this.#start()
  }

  /** The call ended before its deadline (the common case): O(1). */
  unwatch (call: Deadlined): void {
    if (!call.deadlineWatched) return
    call.deadlineWatched = false
    const prev = call.deadlinePrev
    const next = call.deadlineNext
    if (prev === undefined) this.#head = next
    else prev.deadlineNext = next
    if (next !== undefined) next.deadlinePrev = prev
    call.deadlineNext = undefined
    call.deadlinePrev = undefined
    if (--this.#size === 0) this.#stop()
  }

  /** Ends every call whose deadline is at or before `now`. */
  sweep (now = Date.now()): void {
    let call = this.#head
    while (call !== undefined) {
      const next = call.deadlineNext
      if (call.deadline <= now) {
        this.unwatch(call)
        call.deadlineReached()
      }
      call = next
    }
  }

  close (): void {
    this.#stop()
  }

  #start (): void {
    // unref: a sweep alone never keeps the process alive (its calls' sockets do)
    this.#timer = setInterval(sweepNow, SWEEP_MS, this).unref()
  }

  #stop (): void {
    if (this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}

function sweepNow (sweep: DeadlineSweep): void {
  sweep.sweep()
}
