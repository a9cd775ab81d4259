// Jobs in Redis, shared by every replica (standalone or Cluster, the same
// connection settings as the buckets):
//   sluice:job:{<id>}                 the job record (JSON), expiring after maxAge + resultTtl,
//                                     then resultTtl once final; one key, so one hash slot
//   sluice:jobs:{<vendor>}:stream     jobs due now: a Redis Stream read by one consumer
//                                     group that every replica joins
//   sluice:jobs:{<vendor>}:delayed    jobs due later (a sorted set by due time), moved to the
//                                     stream when due
//   sluice:jobs:{<vendor>}:index      every job of the vendor by creation time, for listing
// A stream entry stays pending for the replica that read it until the job is
// settled; a replica that holds a job keeps it with XCLAIM, so one whose
// entry sat idle for claimTimeout belongs to a replica that died, and another
// takes it over with XAUTOCLAIM.
import { Cluster, Redis } from 'ioredis'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { parseClusterSeeds, reconnectDelay, seedNodeOptions, urlTls } from '../ratelimit/redis-connection.js'
import { FINAL, decodeJob, encodeJob, type Job } from './job.js'
import type { ClaimedJob, JobFilter, JobStore } from './store.js'

const GROUP = 'sluice-jobs'
const COMMAND_TIMEOUT_MS = 2_000
/** due jobs moved from the delayed set to the stream per claim and vendor */
const PROMOTE_BATCH = 500

// A job's lock: held by the replica running it, kept alive by touch(), gone at settle.
// Whoever takes the stream entry over must also get the lock, so a job is never
// run by two replicas at once while its holder still lives.
const TOUCH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

const PROMOTE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('XADD', KEYS[2], '*', 'id', id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids`

export interface RedisJobStoreOptions {
  url: string | undefined
  clusterNodes: string[] | undefined
  tlsCa: Buffer | undefined
  logger: Logger
}

const jobKey = (id: string): string => `sluice:job:{${id}}`
const lockKey = (id: string): string => `sluice:job:{${id}}:lock`
const vendorKey = (vendor: string, what: 'stream' | 'delayed' | 'index'): string => `sluice:jobs:{${vendor}}:${what}`

type StreamEntry = [string, string[]]
interface Scripts {
  sluiceJobTouch: (key: string, owner: string, ms: number) => Promise<number>
  sluiceJobUnlock: (key: string, owner: string) => Promise<number>
}

export class RedisJobStore implements JobStore {
  readonly kind = 'redis'
  private readonly client: Redis | Cluster
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  private readonly groups = new Set<string>()
  private wake: (() => void) | undefined
  private next = 0

  constructor (opts: RedisJobStoreOptions) {
    const connection = { connectTimeout: 2_000, commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 0 }
    if (opts.clusterNodes !== undefined && opts.clusterNodes.length > 0) {
      const seeds = parseClusterSeeds(opts.clusterNodes)
      // Commands wait for a (re)connection, up to commandTimeout: a job accepted while
      // the connection comes up is stored, not refused.
      this.client = new Cluster(seeds.nodes, {
        enableOfflineQueue: true,
        clusterRetryStrategy: reconnectDelay,
        redisOptions: {
          ...connection,
          ...seedNodeOptions(seeds, opts.tlsCa),
        },
      })
    } else {
      const url = opts.url as string
      this.client = new Redis(url, {
        ...connection,
        ...urlTls(url, opts.tlsCa),
        enableOfflineQueue: true,
        retryStrategy: reconnectDelay,
      })
    }
    // ioredis reports every failed reconnect; the worker logs the outage once.
    this.client.on('error', () => {})
    this.client.defineCommand('sluiceJobsPromote', { numberOfKeys: 2, lua: PROMOTE })
    this.client.defineCommand('sluiceJobTouch', { numberOfKeys: 1, lua: TOUCH })
    this.client.defineCommand('sluiceJobUnlock', { numberOfKeys: 1, lua: UNLOCK })
  }

  /**
   * Resolves once the first connection is up, or has failed, or after timeoutMs:
   * a Redis that is away must not hold the listeners (jobs wait as in an outage).
   */
  async ready (timeoutMs = 5_000): Promise<void> {
    if (this.client.status === 'ready') return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.client.off('ready', done)
        this.client.off('error', done)
        this.client.off('close', done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.client.once('ready', done)
      this.client.once('error', done)
      this.client.once('close', done)
    })
  }

  async add (job: Job, ttlMs: number): Promise<void> {
    await this.client.set(jobKey(job.id), encodeJob(job), 'PX', ttlMs)
    await this.client.multi()
      .zadd(vendorKey(job.vendor, 'index'), job.createdAt, job.id)
      .xadd(vendorKey(job.vendor, 'stream'), '*', 'id', job.id)
      .exec()
      .then(checkExec)
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private async ensureGroup (vendor: string): Promise<void> {
    if (this.groups.has(vendor)) return
    try {
      await this.client.xgroup('CREATE', vendorKey(vendor, 'stream'), GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err
    }
    this.groups.add(vendor)
  }

  async claim (vendors: readonly string[], max: number, claimTimeoutMs: (vendor: string) => number): Promise<ClaimedJob[]> {
    const out: ClaimedJob[] = []
    const n = vendors.length
    const start = this.next++ % Math.max(1, n)
    for (let k = 0; k < n && out.length < max; k++) {
      const vendor = vendors[(start + k) % n] as string
      try {
        await this.claimFrom(vendor, max - out.length, claimTimeoutMs(vendor), out)
      } catch (err) {
        // A Redis that lost its data (restarted without persistence) has no group any more.
        if (String((err as Error).message).includes('NOGROUP')) this.groups.delete(vendor)
        if (out.length === 0) throw err
      }
    }
    return out
  }

  private async claimFrom (vendor: string, max: number, claimTimeoutMs: number, out: ClaimedJob[]): Promise<void> {
    await this.ensureGroup(vendor)
    const stream = vendorKey(vendor, 'stream')
    await (this.client as unknown as { sluiceJobsPromote: (...a: Array<string | number>) => Promise<number> })
      .sluiceJobsPromote(vendorKey(vendor, 'delayed'), stream, Date.now(), PROMOTE_BATCH)
    // Entries idle past claimTimeout belong to a replica that stopped telling it holds them.
    const auto = await this.client.xautoclaim(stream, GROUP, this.consumer, claimTimeoutMs, '0-0', 'COUNT', max) as [string, StreamEntry[], string[]]
    const entries: StreamEntry[] = auto[1].filter(e => e !== null && e[1] !== null)
    if (entries.length < max) {
      const read = await this.client.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', max - entries.length, 'STREAMS', stream, '>') as Array<[string, StreamEntry[]]> | null
      if (read !== null) for (const [, list] of read) entries.push(...list)
    }
    const taken = await Promise.all(entries.map(([entryId, fields]) => this.take(vendor, entryId, fields, claimTimeoutMs)))
    for (const c of taken) if (c !== undefined) out.push(c)
  }

  private async take (vendor: string, entryId: string, fields: string[], claimTimeoutMs: number): Promise<ClaimedJob | undefined> {
    const id = fields[fields.indexOf('id') + 1]
    if (id === undefined) {
      await this.drop(vendor, entryId)
      return undefined
    }
    // Still locked: its holder lives (and will settle it); leave it be.
    if (await this.client.set(lockKey(id), this.consumer, 'PX', claimTimeoutMs, 'NX') === null) return undefined
    const text = await this.client.get(jobKey(id))
    if (text === null) {
      await this.drop(vendor, entryId) // dropped by an operator, or expired
      await this.unlock(id)
      return undefined
    }
    const job = decodeJob(text)
    if (FINAL.has(job.status)) {
      await this.drop(vendor, entryId) // settled, but the entry outlived a crash
      await this.unlock(id)
      return undefined
    }
    job.status = 'running'
    job.updatedAt = Date.now()
    await this.client.set(jobKey(job.id), encodeJob(job), 'KEEPTTL')
    return { job, ref: entryId, lockMs: claimTimeoutMs }
  }

  private async unlock (id: string): Promise<void> {
    await (this.client as unknown as Scripts).sluiceJobUnlock(lockKey(id), this.consumer)
  }

  private async drop (vendor: string, entryId: string): Promise<void> {
    const stream = vendorKey(vendor, 'stream')
    await this.client.multi().xack(stream, GROUP, entryId).xdel(stream, entryId).exec().then(checkExec)
  }

  async touch (claimed: ClaimedJob): Promise<void> {
    await Promise.all([
      (this.client as unknown as Scripts).sluiceJobTouch(lockKey(claimed.job.id), this.consumer, claimed.lockMs ?? 60_000),
      this.client.xclaim(vendorKey(claimed.job.vendor, 'stream'), GROUP, this.consumer, 0, claimed.ref, 'JUSTID'),
    ])
  }

  async settle (claimed: ClaimedJob, ttlMs: number): Promise<void> {
    const job = claimed.job
    const key = jobKey(job.id)
    // An operator may have dropped it meanwhile: then it stays gone.
    if (await this.client.exists(key) === 0) {
      await this.drop(job.vendor, claimed.ref)
      await this.unlock(job.id)
      return
    }
    if (FINAL.has(job.status)) {
      job.expiresAt = Date.now() + ttlMs
      await this.client.set(key, encodeJob(job), 'PX', ttlMs)
    } else {
      await this.client.set(key, encodeJob(job), 'KEEPTTL')
    }
    const stream = vendorKey(job.vendor, 'stream')
    const m = this.client.multi()
    if (job.status === 'queued') m.zadd(vendorKey(job.vendor, 'delayed'), job.dueAt, job.id)
    await m.xack(stream, GROUP, claimed.ref).xdel(stream, claimed.ref).exec().then(checkExec)
    await this.unlock(job.id)
  }

  async get (id: string): Promise<Job | undefined> {
    const text = await this.client.get(jobKey(id))
    return text === null ? undefined : decodeJob(text)
  }

  async list (filter: JobFilter, vendors: readonly string[], limit: number): Promise<Job[]> {
    const out: Job[] = []
    for (const vendor of filter.vendor !== undefined ? [filter.vendor] : vendors) {
      const index = vendorKey(vendor, 'index')
      const ids = await this.client.zrevrange(index, 0, -1)
      const texts = await Promise.all(ids.map(id => this.client.get(jobKey(id))))
      const gone: string[] = []
      texts.forEach((text, i) => {
        if (text === null) { gone.push(ids[i] as string); return }
        const job = decodeJob(text)
        if (filter.status === undefined || job.status === filter.status) out.push(job)
      })
      // Records expire by themselves; their index entries go when a listing finds them gone.
      if (gone.length > 0) await this.client.zrem(index, ...gone)
      if (out.length >= limit) break
    }
    return out.slice(0, limit)
  }

  async requeue (id: string, ttlMs: (vendor: string) => number): Promise<Job | false | undefined> {
    const job = await this.get(id)
    if (job === undefined) return undefined
    if (job.status !== 'dead' && job.status !== 'failed') return false
    const now = Date.now()
    Object.assign(job, { status: 'queued', attempts: 0, since: now, dueAt: now, updatedAt: now, expiresAt: undefined, error: undefined, result: undefined })
    await this.client.set(jobKey(id), encodeJob(job), 'PX', ttlMs(job.vendor))
    await this.client.xadd(vendorKey(job.vendor, 'stream'), '*', 'id', id)
    return job
  }

  async remove (id: string): Promise<boolean> {
    const job = await this.get(id)
    if (job === undefined) return false
    await this.client.del(jobKey(id))
    await this.client.multi().zrem(vendorKey(job.vendor, 'index'), id).zrem(vendorKey(job.vendor, 'delayed'), id).exec().then(checkExec)
    return true
  }

  async pending (vendors: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    await Promise.all(vendors.map(async v => {
      const [len, delayed] = await Promise.all([this.client.xlen(vendorKey(v, 'stream')), this.client.zcard(vendorKey(v, 'delayed'))])
      counts.set(v, len + delayed)
    }))
    return counts
  }

  wait (ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(() => { this.wake = undefined; resolve() }, ms)
      this.wake = () => { clearTimeout(timer); resolve() }
    })
  }

  async close (): Promise<void> {
    try {
      await this.client.quit()
    } catch {
      this.client.disconnect()
    }
  }
}

function checkExec (results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('Redis transaction aborted')
  for (const [err] of results) if (err !== null) throw err
}
