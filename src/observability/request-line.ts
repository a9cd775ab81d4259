// The one log line per call, serialised by hand. It has a fixed shape and is
// written on every call, so it skips pino's generic object walk, redaction and
// formatters and goes straight to the logger's destination, in the same JSON
// form as pino's own lines: level and time first, msg last. Nothing in it is a
// secret: the path and any bodies are scrubbed before they reach it.
//
// Into stdout's batcher the line is written in place, a piece at a time
// (line-writer.ts): no object, no string for it. formatRequestLine is the same
// line as a string: for any other destination (a test's sink), for a line
// larger than a batch, and as the reference the in-place bytes are tested
// against (test/observability/request-line-bytes.test.ts).
import type { Logger } from 'pino'
import { LineBatcher } from './line-batcher.js'
import { LineWriter, literal } from './line-writer.js'
import { destinationOf } from './logger.js'

/** What the line reads from the call itself (the pipeline's call context has all of it). */
export interface LoggedCall {
  readonly requestId: string
  readonly method: string
  /** ms, logged rounded to 0.1; absent (a listener answer): 0 */
  readonly upstreamMs?: number
  readonly attempts?: number
  /** ms, logged rounded to 1 */
  readonly waitMs?: number
  readonly wouldLimit?: boolean
  readonly cutOff?: boolean
  readonly clientGone?: boolean
  /** while tracing is on */
  readonly trace?: { readonly traceId: string } | undefined
  /** the rate-limit bucket that refused the call or made it wait */
  readonly rateBucket?: string | undefined
  /** what the call cost (its first weighted bucket); logged when not 1 */
  readonly cost?: number | undefined
}

/** What only some lines carry, worked out by the caller (bodies are scrubbed by then). */
export interface LineExtras {
  keys?: Record<string, string> | undefined
  reqBody?: unknown
  resBody?: unknown
}

export interface RequestLine {
  reqId: string
  vendor: string | undefined
  method: string
  path: string
  status: number
  durationMs: number
  upstreamMs: number
  attempts: number
  waitMs: number
  error: string | undefined
  /** the call's trace id, while tracing is on */
  traceId?: string
  cause?: string | undefined
  wouldLimit?: true
  cutOff?: true
  clientGone?: true
  /** the rate-limit bucket that refused the call or made it wait */
  bucket?: string
  /** what the call cost (its first weighted bucket), when not 1 */
  cost?: number
  /** bucket name -> key value, hashed, for buckets not keyed by vendor (`sluice replay` reads them) */
  keys?: Record<string, string> | undefined
  reqBody?: unknown
  resBody?: unknown
}

/**
 * Writes a call's line: `vendor`, `path` (scrubbed), `status`, `durationMs`
 * (rounded to 0.1), `error` and `cause` are the caller's verdict on the call, the
 * rest is read from `call`.
 */
export function logCall (
  logger: Logger, call: LoggedCall, vendor: string | undefined, path: string, status: number,
  durationMs: number, error: string | undefined, cause?: string, extras?: LineExtras
): void {
  const out = destinationOf(logger)
  if (out === undefined) return
  const time = Date.now()
  if (out instanceof LineBatcher && inPlace(out, time, call, vendor, path, status, durationMs, error, cause, extras)) return
  out.write(formatRequestLine(requestLineOf(call, vendor, path, status, durationMs, error, cause, extras), time))
}

/** one for the process: a line is written start to end in one synchronous go */
const writer = new LineWriter()
// the line's own pieces, as bytes once
const HEAD = literal('{"level":"info","time":')
const REQ_ID = literal(',"reqId":')
const VENDOR = literal(',"vendor":')
const METHOD = literal(',"method":')
const PATH = literal(',"path":')
const STATUS = literal(',"status":')
const DURATION_MS = literal(',"durationMs":')
const UPSTREAM_MS = literal(',"upstreamMs":')
const ATTEMPTS = literal(',"attempts":')
const WAIT_MS = literal(',"waitMs":')
const ERROR = literal(',"error":')
const CAUSE = literal(',"cause":')
const TRACE_ID = literal(',"traceId":"')
const QUOTE = literal('"')
const WOULD_LIMIT = literal(',"wouldLimit":true')
const CUT_OFF = literal(',"cutOff":true')
const CLIENT_GONE = literal(',"clientGone":true')
const KEYS = literal(',"keys":')
const BUCKET = literal(',"bucket":')
const COST = literal(',"cost":')
const REQ_BODY = literal(',"reqBody":')
const RES_BODY = literal(',"resBody":')
const TAIL = literal(',"msg":"request"}\n')

/** The line written straight into the batch; false when it is larger than a batch. */
function inPlace (
  out: LineBatcher, time: number, call: LoggedCall, vendor: string | undefined, path: string, status: number,
  durationMs: number, error: string | undefined, cause: string | undefined, extras: LineExtras | undefined
): boolean {
  for (;;) {
    const buf = out.lineBuffer()
    if (buf === undefined) return true // dropped
    const w = writer
    w.begin(buf, out.used)
    w.bytes(HEAD)
    w.number(time)
    w.bytes(REQ_ID)
    w.string(call.requestId)
    if (vendor !== undefined) {
      w.bytes(VENDOR)
      w.string(vendor)
    }
    w.bytes(METHOD)
    w.string(call.method)
    w.bytes(PATH)
    w.string(path)
    w.bytes(STATUS)
    w.number(status)
    w.bytes(DURATION_MS)
    w.number(durationMs)
    w.bytes(UPSTREAM_MS)
    w.number(Math.round((call.upstreamMs ?? 0) * 10) / 10)
    w.bytes(ATTEMPTS)
    w.number(call.attempts ?? 0)
    w.bytes(WAIT_MS)
    w.number(Math.round(call.waitMs ?? 0))
    if (error !== undefined) {
      w.bytes(ERROR)
      w.string(error)
    }
    if (cause !== undefined) {
      w.bytes(CAUSE)
      w.string(cause)
    }
    const trace = call.trace
    if (trace !== undefined) {
      w.bytes(TRACE_ID)
      w.raw(trace.traceId)
      w.bytes(QUOTE)
    }
    if (call.wouldLimit === true) w.bytes(WOULD_LIMIT)
    if (call.cutOff === true) w.bytes(CUT_OFF)
    if (call.clientGone === true) w.bytes(CLIENT_GONE)
    if (extras?.keys !== undefined) {
      w.bytes(KEYS)
      w.json(extras.keys)
    }
    const bucket = call.rateBucket
    if (bucket !== undefined) {
      w.bytes(BUCKET)
      w.string(bucket)
    }
    const cost = call.cost
    if (cost !== undefined && cost !== 1) {
      w.bytes(COST)
      w.number(cost)
    }
    if (extras?.reqBody !== undefined) {
      w.bytes(REQ_BODY)
      w.json(extras.reqBody)
    }
    if (extras?.resBody !== undefined) {
      w.bytes(RES_BODY)
      w.json(extras.resBody)
    }
    w.bytes(TAIL)
    const end = w.end()
    if (end >= 0) {
      out.commitLine(end)
      return true
    }
    // did not fit the room left: once more in a fresh batch, unless it had one
    if (!out.freshBatch()) return false
  }
}

/** The same line as an object, for formatRequestLine. */
function requestLineOf (
  call: LoggedCall, vendor: string | undefined, path: string, status: number,
  durationMs: number, error: string | undefined, cause: string | undefined, extras: LineExtras | undefined
): RequestLine {
  const line: RequestLine = {
    reqId: call.requestId,
    vendor,
    method: call.method,
    path,
    status,
    durationMs,
    upstreamMs: Math.round((call.upstreamMs ?? 0) * 10) / 10,
    attempts: call.attempts ?? 0,
    waitMs: Math.round(call.waitMs ?? 0),
    error,
    cause,
  }
  if (call.trace !== undefined) line.traceId = call.trace.traceId
  if (call.wouldLimit === true) line.wouldLimit = true
  if (call.cutOff === true) line.cutOff = true
  if (call.clientGone === true) line.clientGone = true
  if (extras?.keys !== undefined) line.keys = extras.keys
  if (call.rateBucket !== undefined) line.bucket = call.rateBucket
  if (call.cost !== undefined && call.cost !== 1) line.cost = call.cost
  if (extras?.reqBody !== undefined) line.reqBody = extras.reqBody
  if (extras?.resBody !== undefined) line.resBody = extras.resBody
  return line
}

export function formatRequestLine (l: RequestLine, time: number): string {
  let s = '{"level":"info","time":' + time + ',"reqId":' + JSON.stringify(l.reqId)
  if (l.vendor !== undefined) s += ',"vendor":' + JSON.stringify(l.vendor)
  s += ',"method":' + JSON.stringify(l.method) +
    ',"path":' + JSON.stringify(l.path) +
    ',"status":' + l.status +
    ',"durationMs":' + l.durationMs +
    ',"upstreamMs":' + l.upstreamMs +
    ',"attempts":' + l.attempts +
    ',"waitMs":' + l.waitMs
  if (l.error !== undefined) s += ',"error":' + JSON.stringify(l.error)
  if (l.cause !== undefined) s += ',"cause":' + JSON.stringify(l.cause)
  if (l.traceId !== undefined) s += ',"traceId":"' + l.traceId + '"'
  if (l.wouldLimit === true) s += ',"wouldLimit":true'
  if (l.cutOff === true) s += ',"cutOff":true'
  if (l.clientGone === true) s += ',"clientGone":true'
  if (l.keys !== undefined) s += ',"keys":' + JSON.stringify(l.keys)
  if (l.bucket !== undefined) s += ',"bucket":' + JSON.stringify(l.bucket)
  if (l.cost !== undefined) s += ',"cost":' + l.cost
  if (l.reqBody !== undefined) s += ',"reqBody":' + JSON.stringify(l.reqBody)
  if (l.resBody !== undefined) s += ',"resBody":' + JSON.stringify(l.resBody)
  return s + ',"msg":"request"}\n'
}
