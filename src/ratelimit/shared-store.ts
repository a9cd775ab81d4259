// The buckets shared in Redis, as this replica takes part in them: decisions
// in the Redis script (redis-store.ts), tokens leased from it for high-rate
// buckets and handed out here without a Redis call (lease.ts), vendor pauses
// written for every replica, and this replica announced, so that an outage
// divides the local buckets by the replicas last seen.
//
// Writes are sent only while Redis is up and lost otherwise (a failure is
// handled by the store marking itself down); the give-backs in flight are
// awaited briefly on close.
import { randomUUID } from 'node:crypto'
import { pauseKey, REPLICAS_KEY } from './keys.js'
import { LeaseBook, leaseKey } from './lease.js'
import type { Plan } from './plan.js'
import { RedisStore, type RedisStoreOptions } from './redis-store.js'
import type { BucketStore, StoreKind, TokenSource } from './store.js'
import type { Verdict } from './verdict.js'

interface SharedStoreOptions extends RedisStoreOptions {
  /** how often this replica announces itself */
  announceEveryMs: number
  /** how long an announcement lasts */
  announceTtlMs: number
  /** the vendor pauses this replica holds after `now`: written to Redis when it answers (again) */
  localPauses: (now: number) => Iterable<[vendor: string, untilMs: number]>
}

interface SharedStoreEvents {
  /** Redis answers (again); this replica's pauses are on their way to it */
  up (): void
  /** Redis stopped answering; the leases are forgotten */
  down (err: unknown): void
  /** the replicas announced in Redis at its last answer, at least 1 */
  replicas (n: number): void
}

/** The longest ready() waits for the first connection: past the store's connect timeout. */
const READY_WAIT_MS = 2000

/** The longest close() waits for leased tokens to go back. */
const GIVE_BACK_WAIT_MS = 200

/** A call served from a lease: every bucket gave a token at once. */
const LEASED: Verdict = Object.freeze({ refused: false, waitMs: 0, retryAfterMs: 0, bucket: -1, queuedMask: 0, closest: -1, remaining: 0 })

export class SharedStore implements BucketStore {
  readonly kind: StoreKind = 'redis'
  readonly atOnce: TokenSource = 'lease'
  private readonly redis: RedisStore
  private readonly leases: LeaseBook
  /** give-backs in flight, awaited (briefly) on close */
  private readonly givingBack = new Set<Promise<void>>()
  private readonly announcer: NodeJS.Timeout

  constructor (opts: SharedStoreOptions, events: SharedStoreEvents) {
    const { announceEveryMs, announceTtlMs, localPauses, ...connection } = opts
    this.leases = new LeaseBook((plan, keyValues, tokens) => this.giveBack(plan, keyValues, tokens))
    const id = randomUUID()
    const announce = (): void => {
      if (!this.redis.up) return
      // Failure is handled by the store marking itself down; the last count stands.
      this.redis.announce(REPLICAS_KEY, id, announceTtlMs).then(n => events.replicas(Math.max(1, n)), () => {})
    }
    this.announcer = setInterval(announce, announceEveryMs)
    this.announcer.unref()
    this.redis = new RedisStore(connection, {
      up: () => {
        announce()
        this.sharePauses(localPauses)
        events.up()
      },
      down: (err) => {
        this.leases.clear()
        events.down(err)
      },
    })
  }

  get up (): boolean {
    return this.redis.up
  }

  decide (plan: Plan, keyValues: readonly string[], deadlineMs: number, costs: readonly number[] | undefined): Verdict | Promise<Verdict> {
    const redis = this.redis
    // One decision in Redis for this call alone: a bucket too tight to lease, or a weighted call (a lease hands out single tokens).
    if (plan.leaseCap < 2 || costs !== undefined) return redis.decide(plan, keyValues, deadlineMs - Date.now(), 1, costs)
    const now = Date.now()
    const key = leaseKey(plan, keyValues)
    if (this.leases.take(key, now)) return LEASED
    const want = this.leases.want(plan, key, keyValues, now)
    if (want < 2) return redis.decide(plan, keyValues, deadlineMs - now, 1)
    return redis.decide(plan, keyValues, deadlineMs - now, want).then(verdict => {
      this.leases.granted(plan, key, keyValues, verdict.refused ? 0 : verdict.taken, Date.now())
      return verdict
    })
  }

  planFor (plan: Plan): Plan {
    return plan
  }

  giveBack (plan: Plan, keyValues: readonly string[], tokens: number): void {
    if (this.redis.up) this.track(this.redis.giveBack(plan, keyValues, tokens).catch(() => {}))
  }

  putBack (plan: Plan, keyValues: readonly string[], source: TokenSource): void {
    if (source === 'lease' && this.leases.putBack(leaseKey(plan, keyValues), Date.now())) return
    this.giveBack(plan, keyValues, 1)
  }

  adjust (plan: Plan, keyValues: readonly string[], amounts: readonly number[]): void {
    if (this.redis.up) this.track(this.redis.adjust(plan, keyValues, amounts).catch(() => {}))
  }

  lower (plan: Plan, i: number, keyValue: string, level: number): void {
    if (this.redis.up) this.redis.lower(plan, i, keyValue, level).catch(() => {})
  }

  /** The vendor's leases here go back at once; Redis, while it is up, holds the pause for every replica. */
  pause (vendor: string, untilMs: number): void {
    this.leases.pause(vendor, untilMs)
    if (!this.redis.up) return
    const ms = untilMs - Date.now()
    if (ms > 0) this.redis.pause(pauseKey(vendor), ms).catch(() => {})
  }

  entries (prefix: string, max: number): Promise<{ now: number, entries: Array<[string, number, number]> } | undefined> {
    return this.redis.scan(prefix, max).catch(() => undefined)
  }

  /** Resolves once Redis has answered or failed for the first time, or after READY_WAIT_MS. */
  async ready (): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.redis.settled, new Promise<void>(resolve => { timer = setTimeout(resolve, READY_WAIT_MS) })])
    clearTimeout(timer)
  }

  /** Leased tokens go back (waited for briefly), then the connection closes. */
  async close (): Promise<void> {
    clearInterval(this.announcer)
    this.leases.close()
    if (this.givingBack.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled(this.givingBack),
        new Promise<void>(resolve => { timer = setTimeout(resolve, GIVE_BACK_WAIT_MS) }),
      ])
      clearTimeout(timer)
    }
    await this.redis.close()
  }

  /**
   * Redis is back: the vendor pauses this replica holds (one learnt during the
   * outage was kept only here) go to Redis, so every replica honours them.
   */
  private sharePauses (localPauses: SharedStoreOptions['localPauses']): void {
    const now = Date.now()
    // Failure is handled by the store marking itself down.
    for (const [vendor, until] of localPauses(now)) this.redis.pause(pauseKey(vendor), until - now).catch(() => {})
  }

  private track (sent: Promise<void>): void {
    this.givingBack.add(sent)
    sent.finally(() => this.givingBack.delete(sent)).catch(() => {})
  }
}
