// The calls queued for their tokens on this replica, one line per set of
// buckets and key values, in arrival order. A store reserves a queued call's
// token when it decides (verdict.ts), so the call only sleeps until its turn.
//
// A turn can come free early: a call ahead leaves the queue (its client hung
// up), or a call that took its token at once is not sent after all (a later
// stage refused it; its turn was "now"). The first call behind it takes the
// free turn, the one after takes that call's old turn, and so on; the last
// turn left over is the token that goes back to the store. No turn ever moves
// before a vendor pause this replica knows of.
//
// Only this replica's calls move up: a call queued on another replica sharing
// the Redis keeps its turn (the token given back serves the calls that arrive
// after). A call that drew on other key values beside a shared bucket is in
// another line and keeps its turn too.
import type { Plan } from './plan.js'
import type { QueueWaiter, RateDecision } from './types.js'

import type { StoreKind } from './store.js'

/** the store a queued call's tokens were reserved in */
export type LineStore = StoreKind

/** One queued call. */
interface Turn {
  readonly line: string
  readonly plan: Plan
  readonly keyValues: readonly string[]
  readonly store: LineStore
  readonly bucket: string
  /** local epoch ms of the decision */
  readonly decidedAt: number
  /** local epoch ms the call may go */
  due: number
  timer: NodeJS.Timeout | undefined
  readonly resolve: (decision: RateDecision) => void
  readonly waiter: QueueWaiter | undefined
  /** what the decision carries besides its wait: the costs reserved, the level for headers */
  readonly extra: TurnExtra | undefined
}

export type TurnExtra = Pick<RateDecision, 'costs' | 'closest' | 'remaining'>

export interface WaitQueueHooks {
  /** one token (or the call's costs) back to each of the plan's buckets in `store` */
  giveBack (plan: Plan, keyValues: readonly string[], store: LineStore, costs: readonly number[] | undefined): void
  /** local epoch ms until which this replica knows the vendor is paused (0: not paused) */
  pausedUntil (vendor: string): number
}

export class WaitQueue {
  private readonly lines = new Map<string, Turn[]>()

  constructor (private readonly hooks: WaitQueueHooks) {}

  /** Queues a call whose tokens `store` reserved; resolves when its turn comes, or at once with `cancelled` when it leaves. */
  wait (line: string, plan: Plan, keyValues: readonly string[], store: LineStore, bucket: string, waitMs: number,
    waiter: QueueWaiter | undefined, extra?: TurnExtra): Promise<RateDecision> {
    const now = Date.now()
    return new Promise(resolve => {
      const turn: Turn = { line, plan, keyValues, store, bucket, decidedAt: now, due: now + waitMs, timer: undefined, resolve, waiter, extra }
      let queued = this.lines.get(line)
      if (queued === undefined) {
        queued = []
        this.lines.set(line, queued)
      }
      queued.push(turn)
      turn.timer = setTimeout(wake, waitMs, this, turn)
      if (waiter === undefined) return
      // The client may be gone already (it left while the store decided).
      if (waiter.clientGone) this.leave(turn)
      else waiter.cancelWait = () => this.leave(turn)
    })
  }

  /**
   * A turn at `freedAt` (local epoch ms) is free: the calls queued in `line`
   * move up. True when a call took it, so the token left over is the last
   * one's old turn.
   */
  moveUp (line: string, freedAt: number, vendor: string): boolean {
    const queued = this.lines.get(line)
    if (queued === undefined) return false
    // Turns of weighted calls differ in size: a freed one is not the next call's.
    if ((queued[0] as Turn).plan.weighted) return false
    let free = Math.max(freedAt, this.hooks.pausedUntil(vendor))
    let moved = false
    for (const turn of queued.slice()) {
      if (turn.due <= free) continue
      const old = turn.due
      turn.due = free
      free = old
      moved = true
      clearTimeout(turn.timer)
      const ms = turn.due - Date.now()
      if (ms <= 0) this.wake(turn)
      else turn.timer = setTimeout(wake, ms, this, turn)
    }
    return moved
  }

  /** Calls queued now (for tests). */
  get size (): number {
    let n = 0
    for (const queued of this.lines.values()) n += queued.length
    return n
  }

  wake (turn: Turn): void {
    if (!this.remove(turn)) return
    const waitMs = turn.due - turn.decidedAt
    turn.plan.wait.observe(waitMs / 1000)
    turn.resolve({ ok: true, waitMs, retryAfterMs: 0, bucket: turn.bucket, store: turn.store, ...turn.extra })
  }

  /** The call leaves before its turn: the calls behind move up, its token goes back. */
  private leave (turn: Turn): void {
    if (!this.remove(turn)) return
    clearTimeout(turn.timer)
    const waitMs = Date.now() - turn.decidedAt
    turn.plan.wait.observe(waitMs / 1000)
    this.moveUp(turn.line, turn.due, turn.plan.vendor)
    this.hooks.giveBack(turn.plan, turn.keyValues, turn.store, turn.extra?.costs)
    turn.resolve({ ok: false, waitMs, retryAfterMs: 0, bucket: turn.bucket, code: 'cancelled' })
  }

  /** Takes the turn out of its line; false when it was settled already. */
  private remove (turn: Turn): boolean {
    const queued = this.lines.get(turn.line)
    const i = queued === undefined ? -1 : queued.indexOf(turn)
    if (i < 0) return false
    ;(queued as Turn[]).splice(i, 1)
    if ((queued as Turn[]).length === 0) this.lines.delete(turn.line)
    if (turn.waiter !== undefined) turn.waiter.cancelWait = undefined
    return true
  }
}

function wake (queue: WaitQueue, turn: Turn): void {
  queue.wake(turn)
}
