// Where log lines go: a file descriptor (stdout), written in batches, one write
// in flight at a time, off the event loop (libuv's thread pool).
//
// Each line is copied into a batch buffer as it comes: the bound is kept in
// exact bytes, a batch is written without a join, and no line string outlives
// its call; the request line is not even a string, it is serialised straight
// into the batch buffer (lineBuffer/commitLine, request-line.ts). Why not
// pino.destination (sonic-boom): among other things it measures the byte
// length of the whole pending batch on every line; it cost ~2.2 µs of CPU a
// line against ~0.65 for this in a micro-benchmark, and the full policy
// ~5-8 µs a call more at saturation (bench/README.md, "What each change
// bought").
//
// Bounded: what the fd does not take is held up to maxPendingBytes, then later
// lines are dropped (never a call held up); a warning line says how many once
// there is room again. After a write error other than EAGAIN (the reader of
// stdout went away) lines are dropped for good and stderr says so once.
import { write, writeSync } from 'node:fs'

export interface LineBatcherOptions {
  /** a batch is written once this many bytes have gathered... */
  batchBytes: number
  /** ...or every flushMs, whichever comes first */
  flushMs: number
  /** held at most while the fd is slow; lines beyond are dropped */
  maxPendingBytes: number
}

/** how long to wait before writing again to a non-blocking fd that said EAGAIN */
const EAGAIN_RETRY_MS = 10
/** UTF-8 takes at most 3 bytes per UTF-16 code unit */
const MAX_UTF8_PER_UNIT = 3

export class LineBatcher {
  readonly #fd: number
  readonly #opts: LineBatcherOptions
  /** filled batch buffers waiting to be written, oldest first */
  #full: Buffer[] = []
  #current: Buffer
  #used = 0
  #pendingBytes = 0
  /** a write is in flight; lines gather meanwhile */
  #writing = false
  #dropped = 0
  #broken = false
  /** flush() callbacks waiting for the lines gathered so far, and for the batch in flight */
  #waiting: Array<() => void> = []
  #inFlight: Array<() => void> = []

  constructor (fd: number, opts: LineBatcherOptions) {
    this.#fd = fd
    this.#opts = opts
    this.#current = Buffer.allocUnsafe(opts.batchBytes)
    setInterval(() => { if (!this.#writing) this.#writeNext() }, opts.flushMs).unref()
  }

  /** Takes one line (with its newline). False when it was dropped. */
  write (line: string): boolean {
    if (this.#broken || this.#pendingBytes + line.length > this.#opts.maxPendingBytes) {
      this.#dropped++
      return false
    }
    this.#append(line)
    if (!this.#writing && this.#pendingBytes >= this.#opts.batchBytes) this.#writeNext()
    return true
  }

  /**
   * For a line serialised in place (request-line.ts): the batch buffer to write it
   * into, from `used` up to the buffer's end, then commitLine. Undefined when lines
   * are dropped for good (this one is counted as dropped).
   */
  lineBuffer (): Buffer | undefined {
    if (this.#broken) {
      this.#dropped++
      return undefined
    }
    return this.#current
  }

  /** where a line written in place starts in lineBuffer() */
  get used (): number {
    return this.#used
  }

  /** The line written in place ends at `end` (its newline included). False when it was dropped. */
  commitLine (end: number): boolean {
    const n = end - this.#used
    if (this.#pendingBytes + n > this.#opts.maxPendingBytes) {
      this.#dropped++
      return false
    }
    this.#used = end
    this.#pendingBytes += n
    if (!this.#writing && this.#pendingBytes >= this.#opts.batchBytes) this.#writeNext()
    return true
  }

  /**
   * A line written in place did not fit what is left of the batch: the next
   * lineBuffer() is a fresh one. False when the batch was empty already: the line
   * is larger than a batch, and goes through write().
   */
  freshBatch (): boolean {
    if (this.#used === 0) return false
    this.#seal(this.#opts.batchBytes)
    return true
  }

  /** Writes what is gathered now; `cb` once all of it has been written (or dropped). */
  flush (cb?: () => void): void {
    if (cb !== undefined) this.#waiting.push(cb)
    if (!this.#writing) this.#writeNext()
  }

  /** For the process's exit: what is gathered, written before this returns. A write in flight is left to finish. */
  flushSync (): void {
    if (this.#broken) return
    const data = this.#take()
    if (data === undefined) return
    let off = 0
    while (off < data.length) {
      try {
        off += writeSync(this.#fd, data, off, data.length - off)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return
      }
    }
  }

  #append (line: string): void {
    let room = this.#current.length - this.#used
    // The exact byte count is only worth a scan when the line might not fit.
    if (line.length * MAX_UTF8_PER_UNIT > room) {
      const bytes = Buffer.byteLength(line)
      if (bytes > room) {
        this.#seal(Math.max(this.#opts.batchBytes, bytes))
        room = this.#current.length
      }
    }
    const n = this.#current.write(line, this.#used, 'utf8')
    this.#used += n
    this.#pendingBytes += n
  }

  /** Sets the current buffer aside as full and starts a new one of `size` bytes. */
  #seal (size: number): void {
    if (this.#used > 0) this.#full.push(this.#current.subarray(0, this.#used))
    this.#current = Buffer.allocUnsafe(size)
    this.#used = 0
  }

  /** Everything gathered, as one buffer; lines dropped since the last take are owned up to at its end. */
  #take (): Buffer | undefined {
    if (this.#dropped > 0) {
      this.#append(`{"level":"warn","time":${Date.now()},"dropped":${this.#dropped},"msg":"log lines dropped: stdout did not keep up"}\n`)
      this.#dropped = 0
    }
    if (this.#used === 0 && this.#full.length === 0) return undefined
    this.#seal(this.#opts.batchBytes)
    const data = this.#full.length === 1 ? this.#full[0] as Buffer : Buffer.concat(this.#full)
    this.#full = []
    this.#pendingBytes = 0
    return data
  }

  #writeNext (): void {
    const data = this.#broken ? undefined : this.#take()
    const callbacks = this.#waiting
    this.#waiting = []
    if (data === undefined) {
      for (const cb of callbacks) cb()
      return
    }
    this.#writing = true
    this.#inFlight = callbacks
    this.#writeFrom(data, 0)
  }

  #writeFrom (data: Buffer, off: number): void {
    write(this.#fd, data, off, data.length - off, null, (err, n) => {
      if (err !== null) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.#writeFrom(data, off), EAGAIN_RETRY_MS)
          return
        }
        this.#fail(err)
        return
      }
      if (off + n < data.length) {
        this.#writeFrom(data, off + n)
        return
      }
      this.#writing = false
      this.#written()
      if (this.#pendingBytes >= this.#opts.batchBytes || this.#waiting.length > 0) this.#writeNext()
    })
  }

  #fail (err: NodeJS.ErrnoException): void {
    this.#broken = true
    this.#writing = false
    this.#full = []
    this.#used = 0
    this.#pendingBytes = 0
    process.stderr.write(`sluice: log output failed (${err.code ?? err.message}); log lines are dropped from now on\n`)
    this.#written()
    const waiting = this.#waiting
    this.#waiting = []
    for (const cb of waiting) cb()
  }

  /** The batch in flight is done with: whoever flushed before it was taken hears so. */
  #written (): void {
    const callbacks = this.#inFlight
    this.#inFlight = []
    for (const cb of callbacks) cb()
  }
}
