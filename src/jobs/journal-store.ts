// The jobs of one sluice without Redis: held in memory, every change appended
// to a journal file under SLUICE_DATA_DIR and synced to disk before it is
// acknowledged (appends that arrive during a sync share the next one). At
// start the journal is read back, so a restart resumes every pending job; a
// job that was running when the process died runs again. The journal is
// rewritten (compacted) once it holds several times more lines than jobs.
//
// One process per data directory: the journal is not shared between replicas
// (with several replicas, use Redis).
import { mkdirSync, openSync, readFileSync, renameSync, writeSync, fsyncSync, closeSync, existsSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { FINAL, type Job } from './job.js'
import type { ClaimedJob, JobFilter, JobStore } from './store.js'
import { DueQueue } from './due-queue.js'

const FILE = 'jobs.journal'
/** compact once the journal has this many lines more than there are jobs... */
const COMPACT_MIN_LINES = 1000
/** ...and more than this many lines per job */
const COMPACT_RATIO = 4

type Entry = { put: Job } | { del: string }

export class JournalStore implements JobStore {
  readonly kind = 'journal'
  private readonly jobs = new Map<string, Job>()
  private readonly due = new DueQueue()
  private readonly held = new Set<string>()
  private readonly path: string
  private fh: FileHandle | undefined
  private lines = 0
  private buffer: string[] = []
  private waiters: Array<{ resolve: () => void, reject: (e: unknown) => void }> = []
  private flushing: Promise<void> | undefined
  private wake: (() => void) | undefined
  private sweepTimer: NodeJS.Timeout
  private closed = false

  private constructor (readonly dir: string) {
    this.path = join(dir, FILE)
    this.sweepTimer = setInterval(() => this.sweep(), 60_000)
    this.sweepTimer.unref()
  }

  /** Reads the journal back, if there is one; nothing is written to disk before the first job. */
  static async open (dir: string): Promise<JournalStore> {
    const store = new JournalStore(dir)
    if (existsSync(store.path)) {
      store.load()
      // Start from a compact file: the replayed state, written once.
      store.rewrite()
    }
    return store
  }

  private async handle (): Promise<FileHandle> {
    if (this.fh === undefined) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
      this.fh = await open(this.path, 'a', 0o600)
    }
    return this.fh
  }

  private load (): void {
    if (!existsSync(this.path)) return
    const text = readFileSync(this.path, 'utf8')
    const now = Date.now()
    for (const line of text.split('\n')) {
      if (line === '') continue
      let entry: Entry
      try {
        entry = JSON.parse(line) as Entry
      } catch {
        continue // a line cut off by a crash mid-write was never acknowledged
      }
      if ('put' in entry) this.jobs.set(entry.put.id, entry.put)
      else this.jobs.delete(entry.del)
    }
    for (const job of this.jobs.values()) {
      if (job.expiresAt !== undefined && job.expiresAt <= now) { this.jobs.delete(job.id); continue }
      if (job.status === 'running') job.status = 'queued'
      if (job.status === 'queued') this.due.push(job.dueAt, job.id)
    }
  }

  /** Writes the live jobs to a new file, synced, then swaps it in. */
  private rewrite (): void {
    const tmp = this.path + '.tmp'
    const fd = openSync(tmp, 'w', 0o600)
    try {
      let chunk = ''
      for (const job of this.jobs.values()) {
        chunk += JSON.stringify({ put: job }) + '\n'
        if (chunk.length > 1 << 20) { writeSync(fd, chunk); chunk = '' }
      }
      if (chunk !== '') writeSync(fd, chunk)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.path)
    syncDir(this.dir)
    this.lines = this.jobs.size
  }

  private append (entry: Entry): Promise<void> {
    this.buffer.push(JSON.stringify(entry) + '\n')
    const p = new Promise<void>((resolve, reject) => { this.waiters.push({ resolve, reject }) })
    this.flushing ??= this.flush()
    return p
  }

  private async flush (): Promise<void> {
    while (this.buffer.length > 0) {
      const data = this.buffer.join('')
      const waiters = this.waiters
      this.buffer = []
      this.waiters = []
      try {
        if (this.closed) throw new Error('the job journal is closed')
        const fh = await this.handle()
        await fh.write(data)
        await fh.datasync()
        this.lines += waiters.length
        for (const w of waiters) w.resolve()
      } catch (err) {
        for (const w of waiters) w.reject(err)
      }
      if (this.lines > COMPACT_MIN_LINES && this.lines > COMPACT_RATIO * this.jobs.size) await this.compact()
    }
    this.flushing = undefined
  }

  private async compact (): Promise<void> {
    await this.fh?.close()
    this.fh = undefined
    this.rewrite()
  }

  private notify (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  async add (job: Job): Promise<void> {
    await this.append({ put: job })
    this.jobs.set(job.id, job)
    this.due.push(job.dueAt, job.id)
    this.notify()
  }

  async claim (vendors: readonly string[], max: number): Promise<ClaimedJob[]> {
    const now = Date.now()
    const wanted = new Set(vendors)
    const out: ClaimedJob[] = []
    const skipped: Array<[number, string]> = []
    while (out.length < max) {
      const next = this.due.peek()
      if (next === undefined || next[0] > now) break
      this.due.pop()
      const job = this.jobs.get(next[1])
      // Stale entries (a job settled or requeued since) are dropped here.
      if (job === undefined || job.status !== 'queued' || job.dueAt !== next[0] || this.held.has(job.id)) continue
      if (!wanted.has(job.vendor)) { skipped.push(next); continue }
      job.status = 'running'
      job.updatedAt = now
      this.held.add(job.id)
      out.push({ job: structuredClone(job), ref: job.id })
    }
    for (const [at, id] of skipped) this.due.push(at, id)
    return out
  }

  async touch (): Promise<void> {}

  async settle (claimed: ClaimedJob, ttlMs: number): Promise<void> {
    const job = claimed.job
    if (FINAL.has(job.status)) job.expiresAt = Date.now() + ttlMs
    const current = this.jobs.get(job.id)
    this.held.delete(job.id)
    if (current === undefined) return // dropped by an operator meanwhile
    await this.append({ put: job })
    this.jobs.set(job.id, job)
    if (job.status === 'queued') {
      this.due.push(job.dueAt, job.id)
      this.notify()
    }
  }

  async get (id: string): Promise<Job | undefined> {
    const job = this.jobs.get(id)
    if (job === undefined || (job.expiresAt !== undefined && job.expiresAt <= Date.now())) return undefined
    return structuredClone(job)
  }

  async list (filter: JobFilter, _vendors: readonly string[], limit: number): Promise<Job[]> {
    const out: Job[] = []
    const now = Date.now()
    for (const job of this.jobs.values()) {
      if (filter.status !== undefined && job.status !== filter.status) continue
      if (filter.vendor !== undefined && job.vendor !== filter.vendor) continue
      if (job.expiresAt !== undefined && job.expiresAt <= now) continue
      out.push(structuredClone(job))
      if (out.length >= limit) break
    }
    return out
  }

  async requeue (id: string): Promise<Job | false | undefined> {
    const job = await this.get(id)
    if (job === undefined) return undefined
    if (job.status !== 'dead' && job.status !== 'failed') return false
    const now = Date.now()
    Object.assign(job, { status: 'queued', attempts: 0, since: now, dueAt: now, updatedAt: now, expiresAt: undefined, error: undefined, result: undefined })
    await this.append({ put: job })
    this.jobs.set(id, job)
    this.due.push(job.dueAt, id)
    this.notify()
    return job
  }

  async remove (id: string): Promise<boolean> {
    if (!this.jobs.has(id)) return false
    await this.append({ del: id })
    this.jobs.delete(id)
    return true
  }

  async pending (vendors: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>(vendors.map(v => [v, 0]))
    for (const job of this.jobs.values()) {
      if (job.status === 'queued' || job.status === 'running') counts.set(job.vendor, (counts.get(job.vendor) ?? 0) + 1)
    }
    return counts
  }

  wait (ms: number): Promise<void> {
    const next = this.due.peek()
    const until = next === undefined ? ms : Math.max(0, Math.min(ms, next[0] - Date.now()))
    return new Promise(resolve => {
      const timer = setTimeout(() => { this.wake = undefined; resolve() }, until)
      this.wake = () => { clearTimeout(timer); resolve() }
    })
  }

  /** Final jobs past their time are forgotten (and leave the journal at the next compaction). */
  private sweep (): void {
    const now = Date.now()
    for (const job of this.jobs.values()) {
      if (job.expiresAt !== undefined && job.expiresAt <= now) {
        this.jobs.delete(job.id)
        this.append({ del: job.id }).catch(() => {})
      }
    }
  }

  async close (): Promise<void> {
    clearInterval(this.sweepTimer)
    await this.flushing
    this.closed = true
    await this.fh?.close()
    this.fh = undefined
  }
}

function syncDir (dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try { fsyncSync(fd) } finally { closeSync(fd) }
  } catch { /* not every platform syncs a directory */ }
}
