// The log's batching writer (src/observability/line-batcher.ts), on real files:
// lines come out whole and in order, only once a batch fills, the flush timer
// fires or someone flushes; what is over the bound is dropped and owned up to;
// a broken fd drops lines instead of throwing at a call.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LineBatcher, type LineBatcherOptions } from '../../src/observability/line-batcher.js'
import { eventually, sleep } from '../helpers/wait.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-lines-'))
let files = 0
const opened: number[] = []

function target (): { fd: number, text: () => string } {
  const path = join(dir, `out-${files++}.log`)
  const fd = openSync(path, 'w')
  opened.push(fd)
  return { fd, text: () => readFileSync(path, 'utf8') }
}

function batcher (fd: number, opts: Partial<LineBatcherOptions> = {}): LineBatcher {
  return new LineBatcher(fd, { batchBytes: 1024, flushMs: 60_000, maxPendingBytes: 1 << 20, ...opts })
}

const flushed = (b: LineBatcher): Promise<void> => new Promise(resolve => b.flush(resolve))
const line = (i: number): string => `{"n":${i},"msg":"request"}\n`

/** An ASCII line written in place, as request-line.ts writes one (write() when larger than a batch). */
function inPlace (b: LineBatcher, l: string): boolean {
  for (;;) {
    const buf = b.lineBuffer()
    if (buf === undefined) return false
    if (b.used + l.length <= buf.length) {
      buf.write(l, b.used, 'latin1')
      return b.commitLine(b.used + l.length)
    }
    if (!b.freshBatch()) return b.write(l)
  }
}

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  for (const fd of opened.splice(0)) closeSync(fd)
})

describe('LineBatcher', () => {
  it('holds lines until a batch fills, then writes them whole and in order', async () => {
    const out = target()
    const b = batcher(out.fd, { batchBytes: 200 })
    b.write(line(0))
    b.write(line(1))
    await new Promise(resolve => setTimeout(resolve, 30))
    expect(out.text()).toBe('') // under 200 bytes: nothing written yet
    for (let i = 2; i < 20; i++) b.write(line(i))
    await flushed(b)
    expect(out.text()).toBe(Array.from({ length: 20 }, (_, i) => line(i)).join(''))
  })

  it('writes a lone line once flushMs has passed', async () => {
    vi.useFakeTimers({ toFake: ['setInterval'] })
    const out = target()
    const b = batcher(out.fd, { flushMs: 250 })
    b.write(line(1))
    vi.advanceTimersByTime(249)
    await new Promise(resolve => setTimeout(resolve, 30)) // (a real timeout: only setInterval is fake)
    expect(out.text()).toBe('')
    vi.advanceTimersByTime(1)
    await new Promise(resolve => setTimeout(resolve, 30))
    expect(out.text()).toBe(line(1))
  })

  it('keeps multi-byte characters and a line longer than a batch intact', async () => {
    const out = target()
    const b = batcher(out.fd, { batchBytes: 64 })
    // fits the room left by its characters, not by its bytes
    const wide = `{"p":"${'é'.repeat(30)}"}\n`
    const long = `{"path":"${'é'.repeat(100)}🚀"}\n`
    const sent = ['{"a":"ü"}\n', wide, long, '{"b":"€"}\n']
    for (const l of sent) b.write(l)
    await flushed(b)
    expect(out.text()).toBe(sent.join(''))
  })

  it('drops what is over maxPendingBytes while a write is in flight, and says how many', async () => {
    const out = target()
    const b = batcher(out.fd, { batchBytes: 100, maxPendingBytes: 300 })
    const sent = Array.from({ length: 40 }, (_, i) => line(i)) // 24-25 bytes each
    // All in one go: the first batch goes out, the rest gathers behind it up to the bound.
    const taken = sent.map(l => b.write(l))
    await flushed(b)
    const dropped = taken.filter(ok => !ok).length
    expect(dropped).toBeGreaterThan(0)
    const lines = out.text().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)
    const kept = lines.filter(l => l.msg === 'request').map(l => l.n)
    expect(kept).toEqual(taken.flatMap((ok, i) => ok ? [i] : [])) // every line taken, in order
    expect(taken.indexOf(false)).toBeGreaterThan(4) // the first batch and what fitted behind it were taken
    expect(lines.filter(l => l.level === 'warn')).toEqual([expect.objectContaining({ dropped, msg: expect.stringContaining('dropped') })])
  })

  it('after a write error, drops lines and tells stderr once, without throwing', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const closed = openSync(join(dir, 'closed.log'), 'w')
    closeSync(closed)
    const b = batcher(closed, { batchBytes: 10 })
    b.write(line(1))
    await flushed(b)
    expect(b.write(line(2))).toBe(false)
    await flushed(b)
    expect(stderr).toHaveBeenCalledTimes(1)
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(/log output failed \(EBADF\)/)
  })

  it('goes on after a full non-blocking pipe (EAGAIN, partial writes) and loses nothing', async () => {
    const fifo = join(dir, 'slow.fifo')
    execFileSync('mkfifo', [fifo])
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
    opened.push(reader, writer)
    const b = batcher(writer, { batchBytes: 32 * 1024 })
    const sent = Array.from({ length: 8000 }, (_, i) => line(i)) // ~200 KB, three times a pipe's 64 KB
    for (const l of sent) b.write(l)
    const done = flushed(b)
    await new Promise(resolve => setTimeout(resolve, 50)) // the pipe fills and stays full a while
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(16 * 1024)
    let got = 0
    const expected = Buffer.byteLength(sent.join(''))
    const until = Date.now() + 5000 // what never comes fails the comparison below, not the test's timeout
    while (got < expected && Date.now() < until) {
      let n = 0
      try {
        n = readSync(reader, buf, 0, buf.length, null)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      }
      if (n > 0) {
        chunks.push(Buffer.from(buf.subarray(0, n)))
        got += n
      } else {
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }
    expect(Buffer.concat(chunks).toString()).toBe(sent.join(''))
    await done
  })

  it('takes lines written in place among written ones, whole and in order, through fresh batches and one larger than a batch', async () => {
    const out = target()
    const b = batcher(out.fd, { batchBytes: 64 })
    const long = `{"path":"${'x'.repeat(100)}"}\n`
    const sent = Array.from({ length: 30 }, (_, i) => i === 12 ? long : line(i))
    sent.forEach((l, i) => i % 3 === 0 ? b.write(l) : inPlace(b, l))
    await flushed(b)
    expect(out.text()).toBe(sent.join(''))
  })

  it('writes a batch filled in place without waiting for the timer', async () => {
    const out = target()
    const b = batcher(out.fd, { batchBytes: 200 })
    for (let i = 0; i < 3; i++) inPlace(b, line(i))
    await sleep(30)
    expect(out.text()).toBe('') // under 200 bytes: nothing written yet
    for (let i = 3; i < 9; i++) inPlace(b, line(i)) // 9 lines of 24 bytes: over 200
    await eventually(() => out.text().length > 0, { what: 'the full batch written' })
    expect(out.text()).toBe(Array.from({ length: 9 }, (_, i) => line(i)).join(''))
  })

  it('drops lines written in place over maxPendingBytes, and says how many', async () => {
    const out = target()
    const b = batcher(out.fd, { batchBytes: 100, maxPendingBytes: 300 })
    const taken = Array.from({ length: 40 }, (_, i) => inPlace(b, line(i)))
    await flushed(b)
    const dropped = taken.filter(ok => !ok).length
    expect(dropped).toBeGreaterThan(0)
    const lines = out.text().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)
    expect(lines.filter(l => l.msg === 'request').map(l => l.n)).toEqual(taken.flatMap((ok, i) => ok ? [i] : []))
    expect(lines.filter(l => l.level === 'warn')).toEqual([expect.objectContaining({ dropped, msg: expect.stringContaining('dropped') })])
  })

  it('has no buffer to write into after a write error', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const closed = openSync(join(dir, 'closed-in-place.log'), 'w')
    closeSync(closed)
    const b = batcher(closed, { batchBytes: 10 })
    expect(inPlace(b, line(1))).toBe(true)
    await flushed(b)
    expect(b.lineBuffer()).toBeUndefined()
  })

  it('flushSync writes what is gathered before it returns', () => {
    const out = target()
    const b = batcher(out.fd)
    b.write(line(1))
    inPlace(b, line(2))
    b.flushSync()
    expect(out.text()).toBe(line(1) + line(2))
  })
})
