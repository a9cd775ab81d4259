// Token buckets in Redis (or a Redis Cluster), shared by every replica, and the
// health of that connection. The store never makes a call wait on an outage:
// commands time out fast, nothing queues while disconnected, and once a
// command fails the store reports itself down until a background PING (or
// ioredis reconnecting by itself) says it answers again.
//
// The command timeout is one watchdog, not a timer per command: commands in
// flight are counted per short slot of when they were sent, and one interval
// looks at the oldest slot. A command left unanswered past the timeout marks
// the store down and drops the connection, which fails every command still
// waiting on it at once; ioredis then reconnects by itself.
import type { Socket } from 'node:net'
import { Cluster, Redis } from 'ioredis'
import { VENDOR_KEY_VALUE } from './keys.js'
import type { Plan } from './plan.js'
import type { BucketLevel } from './types.js'
import { parseClusterSeeds, redisTls } from './redis-connection.js'
import { DECIDE_LUA, GIVE_BACK_LUA, PAUSE_LUA } from './redis-script.js'
import { NEVER_MS, type Verdict } from './verdict.js'

export interface RedisStoreOptions {
  url?: string | undefined
  /** seeds of a Redis Cluster (host:port or URLs, see redis-connection.ts); used instead of `url` when set */
  clusterNodes?: readonly string[] | undefined
  /** PEM CA bundle trusted for rediss:// besides Node's own */
  tlsCa?: Buffer | undefined
  /** a command slower than this counts as an outage */
  commandTimeoutMs?: number
  /** how often to PING while down */
  probeEveryMs?: number
}

export interface RedisHealthEvents {
  up (): void
  down (err: unknown): void
}

/** A decision, and how many tokens it took from each bucket (more than one: a lease) */
export interface RedisVerdict extends Verdict {
  taken: number
}

type ScriptCall = (args: Array<string | number>) => Promise<unknown>
type ScriptCommands = Record<string, ScriptCall>

const DEFAULT_COMMAND_TIMEOUT_MS = 150
const DEFAULT_PROBE_EVERY_MS = 1000
const CONNECT_TIMEOUT_MS = 1000
const PAUSE_COMMAND = 'sluicePause'
/** Policies with up to this many buckets get a fixed-keys, auto-pipelined decision command. */
const PIPELINED_BUCKETS = 16
const DECIDE_ANY_COMMAND = 'sluiceDecideAny'
const GIVE_BACK_COMMAND = 'sluiceGiveBack'
/** The watchdog's resolution: it sees a stalled command between timeout and timeout + 2 ticks. */
const WATCH_SLOTS_PER_TIMEOUT = 8
const MIN_WATCH_TICK_MS = 5

export class RedisStore {
  private readonly client: Redis | Cluster
  /** decision command name by number of keys */
  private readonly decideCommands: string[] = []
  private state: 'starting' | 'up' | 'down' = 'starting'
  private readonly probeEveryMs: number
  private probeTimer: NodeJS.Timeout | undefined
  private probing = false
  private closed = false
  private readonly commandTimeoutMs: number
  private readonly watchTickMs: number
  /** ring of send-time slots: the slot number each cell counts, and its commands in flight */
  private readonly slotOf: Float64Array
  private readonly inFlight: Uint32Array
  private outstanding = 0
  private watchdog: NodeJS.Timeout | undefined
  private settle!: () => void
  /** Resolves once the first connection has come up or failed. */
  readonly settled = new Promise<void>(resolve => { this.settle = resolve })

  constructor (opts: RedisStoreOptions, private readonly events: RedisHealthEvents) {
    this.commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    this.watchTickMs = Math.max(MIN_WATCH_TICK_MS, Math.ceil(this.commandTimeoutMs / WATCH_SLOTS_PER_TIMEOUT))
    // Enough cells that none is reused while its commands could still be within the timeout.
    const cells = Math.ceil(this.commandTimeoutMs / this.watchTickMs) + 3
    this.slotOf = new Float64Array(cells).fill(-1)
    this.inFlight = new Uint32Array(cells)
    this.probeEveryMs = opts.probeEveryMs ?? DEFAULT_PROBE_EVERY_MS
    const connection = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A command sent before a disconnect fails at once instead of being replayed later.
      maxRetriesPerRequest: 0,
    }
    const reconnect = (attempt: number): number => Math.min(attempt * 100, 1000)
    if (opts.clusterNodes !== undefined && opts.clusterNodes.length > 0) {
      const seeds = parseClusterSeeds(opts.clusterNodes)
      this.client = new Cluster(seeds.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: [DECIDE_ANY_COMMAND, GIVE_BACK_COMMAND],
        clusterRetryStrategy: reconnect,
        // every node, the ones found by discovery included, gets the seeds' login and TLS
        redisOptions: {
          ...connection,
          ...(seeds.username !== undefined ? { username: seeds.username } : {}),
          ...(seeds.password !== undefined ? { password: seeds.password } : {}),
          ...(seeds.tls ? { tls: redisTls(opts.tlsCa) } : {}),
        },
      })
    } else if (opts.url !== undefined) {
      this.client = new Redis(opts.url, {
        ...connection,
        // only for rediss://: a tls option would turn TLS on for redis:// too
        ...(/^rediss:/i.test(opts.url) ? { tls: redisTls(opts.tlsCa) } : {}),
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: [DECIDE_ANY_COMMAND, GIVE_BACK_COMMAND],
        retryStrategy: reconnect,
      })
    } else {
      throw new Error('RedisStore needs a url or cluster nodes')
    }
    this.defineCommands()
    this.client.on('ready', () => this.markUp())
    // ioredis reports each failed reconnect as an error; markDown logs only the first.
    this.client.on('error', (err: unknown) => this.markDown(err))
    this.client.on('close', () => this.markDown(new Error('connection to Redis closed')))
  }

  get up (): boolean {
    return this.state === 'up'
  }

  /**
   * One decision, one script call; `lease` tokens wanted (1: just this call's).
   * Rejects on any failure, after marking the store down.
   */
  async decide (plan: Plan, keyValues: readonly string[], budgetMs: number, lease: number): Promise<RedisVerdict> {
    const n = plan.size
    const args = plan.scriptArgs.slice()
    for (let i = 0; i < n; i++) args[1 + i] = (plan.prefixes[i] as string) + (keyValues[i] ?? '-')
    args[1 + n] = budgetMs < NEVER_MS ? Math.max(-NEVER_MS, Math.floor(budgetMs)) : NEVER_MS
    args[args.length - 1] = lease
    const slot = this.sent()
    let reply: number[]
    try {
      reply = await (this.client as unknown as ScriptCommands)[this.decideCommand(n + 1, args)]!(args) as number[]
    } catch (err) {
      this.markDown(err)
      throw err
    } finally {
      this.answered(slot)
    }
    return {
      refused: reply[0] === 1,
      waitMs: reply[1] as number,
      retryAfterMs: reply[2] as number,
      bucket: reply[3] as number,
      queuedMask: reply[4] as number,
      taken: reply[5] as number,
    }
  }

  /** Unused leased tokens back into each of the plan's buckets for these key values. */
  async giveBack (plan: Plan, keyValues: readonly string[], tokens: number): Promise<void> {
    const n = plan.size
    const args: Array<string | number> = [n]
    for (let i = 0; i < n; i++) args.push((plan.prefixes[i] as string) + (keyValues[i] ?? '-'))
    args.push(tokens)
    for (let i = 0; i < n; i++) args.push(plan.capacity[i] as number, plan.refillPerMs[i] as number)
    await this.command(GIVE_BACK_COMMAND, args)
  }

  /**
   * Each bucket's level, read only (HMGET, at Redis's clock). Only the buckets
   * keyed per vendor are read: a keyed bucket's keys are not listed (no SCAN
   * on the data path's Redis), so its level is null.
   */
  async levels (plan: Plan, vendorKeyed: readonly boolean[]): Promise<BucketLevel[]> {
    const [sec, micro] = await this.client.time()
    const now = Number(sec) * 1000 + Number(micro) / 1000
    const out: BucketLevel[] = []
    for (let i = 0; i < plan.size; i++) {
      const cap = plan.capacity[i] as number
      const level: BucketLevel = { bucket: plan.names[i] as string, capacity: cap, tokens: null, keys: null }
      out.push(level)
      if (vendorKeyed[i] !== true) continue
      const [t, at] = await this.client.hmget((plan.prefixes[i] as string) + VENDOR_KEY_VALUE, 't', 'at')
      level.keys = t === null ? 0 : 1
      level.tokens = t === null || at === null
        ? cap
        : Math.min(cap, Number(t) + Math.max(0, now - Number(at)) * (plan.refillPerMs[i] as number))
    }
    return out
  }

  async pause (key: string, ms: number): Promise<void> {
    await this.command(PAUSE_COMMAND, [key, Math.ceil(ms)])
  }

  async close (): Promise<void> {
    this.closed = true
    this.settle()
    this.stopProbe()
    this.stopWatchdog()
    this.client.disconnect()
  }

  private async command (name: string, args: Array<string | number>): Promise<void> {
    const slot = this.sent()
    try {
      await (this.client as unknown as ScriptCommands)[name]!(args)
    } catch (err) {
      this.markDown(err)
      throw err
    } finally {
      this.answered(slot)
    }
  }

  /** Counts a command sent now; returns its slot for answered(). */
  private sent (): number {
    const slot = Math.floor(Date.now() / this.watchTickMs)
    const cell = slot % this.slotOf.length
    if (this.slotOf[cell] !== slot) {
      this.slotOf[cell] = slot
      this.inFlight[cell] = 0
    }
    this.inFlight[cell]!++
    this.outstanding++
    if (this.watchdog === undefined && !this.closed) {
      this.watchdog = setInterval(() => this.watch(), this.watchTickMs)
      this.watchdog.unref()
    }
    return slot
  }

  private answered (slot: number): void {
    const cell = slot % this.slotOf.length
    // A cell cleared by a stall no longer counts the commands it held.
    if (this.slotOf[cell] === slot && this.inFlight[cell]! > 0) {
      this.inFlight[cell]!--
      this.outstanding--
    }
  }

  /** The watchdog's tick: a slot whose newest command has waited the whole timeout means a stall. */
  private watch (): void {
    if (this.outstanding === 0) {
      this.stopWatchdog()
      return
    }
    const now = Date.now()
    for (let cell = 0; cell < this.slotOf.length; cell++) {
      if (this.inFlight[cell]! > 0 && now - (this.slotOf[cell]! + 1) * this.watchTickMs >= this.commandTimeoutMs) {
        this.stalled()
        return
      }
    }
  }

  private stalled (): void {
    this.inFlight.fill(0)
    this.slotOf.fill(-1)
    this.outstanding = 0
    this.stopWatchdog()
    this.markDown(new Error(`Redis did not answer within ${this.commandTimeoutMs} ms`))
    // A hanging connection is dropped: that fails every command waiting on it
    // at once (maxRetriesPerRequest 0), and ioredis reconnects by itself.
    const connections = this.client instanceof Cluster ? this.client.nodes('all') : [this.client]
    for (const c of connections) (c.stream as Socket | undefined)?.destroy()
  }

  private stopWatchdog (): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog)
    this.watchdog = undefined
  }

  /**
   * Every command is defined before the first call: an auto-pipeline copies
   * the client's commands when it is created, so one defined later would be
   * missing from a pipeline already filling in the same tick.
   *
   * The decision script goes under one name per number of keys. With a fixed
   * number of keys ioredis knows the first argument is a key, so
   * auto-pipelining groups the call with others for the same Cluster slot.
   * Past PIPELINED_BUCKETS, a name that takes the count first and is sent on
   * its own. Every name runs the same script, loaded once per connection
   * (EVALSHA, then EVAL after NOSCRIPT).
   */
  private defineCommands (): void {
    this.client.defineCommand(PAUSE_COMMAND, { lua: PAUSE_LUA, numberOfKeys: 1 })
    this.client.defineCommand(DECIDE_ANY_COMMAND, { lua: DECIDE_LUA })
    this.client.defineCommand(GIVE_BACK_COMMAND, { lua: GIVE_BACK_LUA })
    for (let keys = 2; keys <= PIPELINED_BUCKETS + 1; keys++) {
      const name = `sluiceDecide${keys}`
      this.client.defineCommand(name, { lua: DECIDE_LUA, numberOfKeys: keys })
      this.decideCommands[keys] = name
    }
  }

  /** The command for a decision over `numberOfKeys` keys; prepends the count to `args` when it must. */
  private decideCommand (numberOfKeys: number, args: Array<string | number>): string {
    const name = this.decideCommands[numberOfKeys]
    if (name !== undefined) return name
    args.unshift(numberOfKeys)
    return DECIDE_ANY_COMMAND
  }

  private markUp (): void {
    this.settle()
    if (this.closed || this.state === 'up') return
    this.state = 'up'
    this.stopProbe()
    this.events.up()
  }

  private markDown (err: unknown): void {
    this.settle()
    if (this.closed || this.state === 'down') return
    this.state = 'down'
    this.events.down(err)
    this.probeTimer = setInterval(() => this.probe(), this.probeEveryMs)
    this.probeTimer.unref()
  }

  private probe (): void {
    if (this.probing || this.state === 'up') return
    this.probing = true
    // Watched too: a PING stuck on a hanging connection drops it like any command.
    const slot = this.sent()
    this.client.ping().then(() => this.markUp(), () => {}).finally(() => {
      this.answered(slot)
      this.probing = false
    })
  }

  private stopProbe (): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer)
    this.probeTimer = undefined
  }
}
