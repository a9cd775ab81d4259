// sluice's request log lines, streamed from a file (or stdin) and handed on in
// arrival order. Lines are written when a call ends, so they are sorted by end
// time; a call arrived `durationMs` before its line. A small heap holds lines
// until no later line can have arrived before them (calls last at most their
// vendor's timeouts.total), so a day of logs never sits in memory at once.
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import type { ReplayCall } from './simulate.js'

export interface ReadStats {
  /** lines read */
  lines: number
  /** request lines replayed */
  calls: number
  /** lines that are not JSON, or request lines without the fields replay needs */
  skipped: number
}

const REQUEST = '"msg":"request"'
// Beyond the longest deadline: time to write the line, clocks of replicas a little apart.
const ORDER_SLACK_MS = 5000

/**
 * Feeds every request line of `source` to `each`, in arrival order. `maxLagMs`
 * is how long a call may last (the longest timeouts.total of the policies).
 */
export async function readRequestLog (source: string, maxLagMs: number, each: (call: ReplayCall) => void): Promise<ReadStats> {
  const stats: ReadStats = { lines: 0, calls: 0, skipped: 0 }
  const heap = new CallHeap()
  const lag = maxLagMs + ORDER_SLACK_MS
  let latest = -Infinity
  const input: Readable = source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 1024 * 1024 })
  let carry = ''
  const line = (text: string): void => {
    stats.lines++
    const call = text.endsWith(REQUEST_END) ? (fastParse(text) ?? parseLine(text)) : text.includes(REQUEST) ? parseLine(text) : undefined
    if (call === undefined && !text.includes(REQUEST)) return
    if (call === undefined) {
      stats.skipped++
      return
    }
    stats.calls++
    heap.push(call)
    if (call.end > latest) latest = call.end
    while (heap.size > 0 && (heap.peek() as ReplayCall).at <= latest - lag) each(heap.pop() as ReplayCall)
  }
  for await (const chunk of input) {
    const text = carry + (chunk as Buffer).toString('utf8')
    let start = 0
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) line(text.slice(start, nl))
      start = nl + 1
    }
    carry = text.slice(start)
  }
  if (carry.trim() !== '') line(carry)
  while (heap.size > 0) each(heap.pop() as ReplayCall)
  return stats
}

type Timed = ReplayCall & { end: number }

const REQUEST_END = ',"msg":"request"}'

/**
 * The fields replay needs from a line as sluice writes it (a fixed shape,
 * request-line.ts), without parsing the whole line: a day of logs is millions
 * of them. Fields come in a fixed order and every string before them is JSON
 * escaped, so the first `,"name":` is the field itself. Undefined when the line
 * is not in that shape (or a string holds an escape): then it is parsed whole.
 */
function fastParse (text: string): Timed | undefined {
  const time = numberAfter(text, '{"level":"info","time":', 0)
  if (time === undefined) return undefined
  let at = text.indexOf(',"vendor":"', 0)
  const methodAt = text.indexOf(',"method":"', 0)
  if (methodAt === -1) return undefined
  let vendor: string | undefined
  if (at !== -1 && at < methodAt) {
    vendor = stringAt(text, at + 11)
    if (vendor === undefined) return undefined
  }
  const method = stringAt(text, methodAt + 11)
  if (method === undefined) return undefined
  at = text.indexOf(',"path":"', methodAt)
  const path = at === -1 ? undefined : stringAt(text, at + 9)
  if (path === undefined) return undefined
  const durationMs = numberAfter(text, ',"durationMs":', at)
  // keys come before the bodies, which may hold anything
  let keysAt = text.indexOf(',"keys":{', at)
  const bodyAt = text.indexOf(',"reqBody":', at)
  const resAt = text.indexOf(',"resBody":', at)
  const bodiesAt = Math.min(bodyAt === -1 ? Infinity : bodyAt, resAt === -1 ? Infinity : resAt)
  if (keysAt > bodiesAt) keysAt = -1
  let keys: Record<string, string> | undefined
  if (keysAt !== -1) {
    const close = text.indexOf('}', keysAt)
    try {
      keys = JSON.parse(text.slice(keysAt + 8, close + 1)) as Record<string, string>
    } catch {
      return undefined
    }
  }
  return { at: durationMs !== undefined && durationMs >= 0 ? time - durationMs : time, end: time, method, path, vendor, keys }
}

function numberAfter (text: string, name: string, from: number): number | undefined {
  const at = text.indexOf(name, from)
  if (at === -1) return undefined
  const start = at + name.length
  let end = start
  while (end < text.length) {
    const c = text.charCodeAt(end)
    if (c === 44 /* , */ || c === 125 /* } */) break
    end++
  }
  const n = Number(text.slice(start, end))
  return end > start && Number.isFinite(n) ? n : undefined
}

/** The JSON string starting at `start` (after its opening quote), if it holds no escape. */
function stringAt (text: string, start: number): string | undefined {
  const end = text.indexOf('"', start)
  if (end === -1) return undefined
  const value = text.slice(start, end)
  return value.includes('\\') ? undefined : value
}

function parseLine (text: string): Timed | undefined {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(text) as Record<string, unknown>
  } catch {
    return undefined
  }
  const { time, durationMs, method, path, vendor, keys } = o
  if (o.msg !== 'request' || typeof time !== 'number' || typeof method !== 'string' || typeof path !== 'string') return undefined
  const at = typeof durationMs === 'number' && durationMs >= 0 ? time - durationMs : time
  return {
    at,
    end: time,
    method,
    path,
    vendor: typeof vendor === 'string' ? vendor : undefined,
    keys: typeof keys === 'object' && keys !== null ? keys as Record<string, string> : undefined,
  }
}

/** A binary min-heap on arrival time; ties keep no particular order. */
class CallHeap {
  private readonly items: Timed[] = []

  get size (): number {
    return this.items.length
  }

  peek (): Timed | undefined {
    return this.items[0]
  }

  push (item: Timed): void {
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((a[parent] as Timed).at <= item.at) break
      a[i] = a[parent] as Timed
      i = parent
    }
    a[i] = item
  }

  pop (): Timed | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length === 0 || last === undefined) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const c = r < a.length && (a[r] as Timed).at < (a[l] as Timed).at ? r : l
      if ((a[c] as Timed).at >= last.at) break
      a[i] = a[c] as Timed
      i = c
    }
    a[i] = last
    return top
  }
}
