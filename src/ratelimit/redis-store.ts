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
import type { Plan } from './plan.js'
import { parseClusterSeeds, reconnectDelay, seedNodeOptions, urlTls } from './redis-connection.js'
import { ADJUST_LUA, ANNOUNCE_LUA, DECIDE_LUA, LOWER_LUA, PAUSE_LUA } from './redis-script.js'
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
const LOWER_COMMAND = 'sluiceLower'
const ANNOUNCE_COMMAND = 'sluiceAnnounce'
/** Policies with up to this many buckets get a fixed-keys, auto-pipelined decision command. */
const PIPELINED_BUCKETS = 16
const DECIDE_ANY_COMMAND = 'sluiceDecideAny'
const ADJUST_COMMAND = 'sluiceAdjust'
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
    if (opts.clusterNodes !== undefined && opts.clusterNodes.length > 0) {
      const seeds = parseClusterSeeds(opts.clusterNodes)
      this.client = new Cluster(seeds.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: [DECIDE_ANY_COMMAND, ADJUST_COMMAND],
        clusterRetryStrategy: reconnectDelay,
        // every node, the ones found by discovery included, gets the seeds' login and TLS
        redisOptions: {
          ...connection,
          ...seedNodeOptions(seeds, opts.tlsCa),
        },
      })
    } else if (opts.url !== undefined) {
      this.client = new Redis(opts.url, {
        ...connection,
        ...urlTls(opts.url, opts.tlsCa),
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: [DECIDE_ANY_COMMAND, ADJUST_COMMAND],
        retryStrategy: reconnectDelay,
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
   * One decision, one script call; `lease` tokens wanted (1: just this call's);
   * `costs`: what the call takes from each bucket (undefined: 1 from each).
   * Rejects on any failure, after marking the store down.
   */
  async decide (plan: Plan, keyValues: readonly string[], budgetMs: number, lease: number, costs?: readonly number[]): Promise<RedisVerdict> {
    const n = plan.size
    const args = plan.scriptArgs.slice()
    for (let i = 0; i < n; i++) args[1 + i] = (plan.prefixes[i] as string) + (keyValues[i] ?? '-')
    args[1 + n] = budgetMs < NEVER_MS ? Math.max(-NEVER_MS, Math.floor(budgetMs)) : NEVER_MS
    if (costs !== undefined) for (let i = 0; i < n; i++) args[n + 5 + 4 * i] = costs[i] as number
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
    const verdict: RedisVerdict = {
      refused: reply[0] !== 0,
      waitMs: reply[1] as number,
      retryAfterMs: reply[2] as number,
      bucket: reply[3] as number,
      queuedMask: reply[4] as number,
      taken: reply[5] as number,
      closest: reply[6] as number,
      remaining: reply[7] as number,
    }
    if (reply[0] === 2) verdict.overCapacity = true
    return verdict
  }

  /** `tokens` back into each of the plan's buckets for these key values (unused leased tokens, a call never sent). */
  async giveBack (plan: Plan, keyValues: readonly string[], tokens: number): Promise<void> {
    const amounts = new Array<number>(plan.size).fill(tokens)
    await this.adjust(plan, keyValues, amounts)
  }

  /**
   * `amounts[i]` tokens into bucket i, in one script call: positive gives back
   * (never above capacity), negative takes (the bucket may go below zero).
   */
  async adjust (plan: Plan, keyValues: readonly string[], amounts: readonly number[]): Promise<void> {
    const n = plan.size
    const args: Array<string | number> = [n]
    for (let i = 0; i < n; i++) args.push((plan.prefixes[i] as string) + (keyValues[i] ?? '-'))
    for (let i = 0; i < n; i++) args.push(amounts[i] as number, plan.capacity[i] as number, plan.refillPerMs[i] as number)
    await this.command(ADJUST_COMMAND, args)
  }

  /** Bucket `i` for this key value lowered to `level` if it holds more (never raised). */
  async lower (plan: Plan, i: number, keyValue: string, level: number): Promise<void> {
    await this.command(LOWER_COMMAND, [(plan.prefixes[i] as string) + keyValue, level, plan.capacity[i] as number, plan.refillPerMs[i] as number])
  }

  /** This replica is alive for `ttlMs` more; resolves with how many replicas are announced. */
  async announce (key: string, id: string, ttlMs: number): Promise<number> {
    const slot = this.sent()
    try {
      return await (this.client as unknown as ScriptCommands)[ANNOUNCE_COMMAND]!([key, id, ttlMs]) as number
    } catch (err) {
      this.markDown(err)
      throw err
    } finally {
      this.answered(slot)
    }
  }

  /**
   * The buckets under `prefix` (on every node of a Cluster), at most `max`
   * of them: key value (the rest of the key name), tokens, ms of last update;
   * and Redis' clock now.
   */
  async scan (prefix: string, max: number): Promise<{ now: number, entries: Array<[string, number, number]> }> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
    const entries: Array<[string, number, number]> = []
    const [sec, usec] = await (nodes[0] as Redis).time()
    const now = Number(sec) * 1000 + Number(usec) / 1000
    // The prefix's braces are its Cluster hash tag: escaped, they match literally.
    const match = prefix.replace(/[[\]*?\\]/g, (c) => '\\' + c) + '*'
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500)
        cursor = next
        for (const key of keys) {
          if (entries.length >= max) return { now, entries }
          const [t, at] = await node.hmget(key, 't', 'at')
          if (t !== null && at !== null) entries.push([key.slice(prefix.length), Number(t), Number(at)])
        }
      } while (cursor !== '0')
    }
    return { now, entries }
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
    this.client.defineCommand(LOWER_COMMAND, { lua: LOWER_LUA, numberOfKeys: 1 })
    this.client.defineCommand(ANNOUNCE_COMMAND, { lua: ANNOUNCE_LUA, numberOfKeys: 1 })
    this.client.defineCommand(DECIDE_ANY_COMMAND, { lua: DECIDE_LUA })
    this.client.defineCommand(ADJUST_COMMAND, { lua: ADJUST_LUA })
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
