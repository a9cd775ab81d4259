// The one log line per call, serialised by hand. It has a fixed shape and is
// written on every call, so it skips pino's generic object walk, redaction and
// formatters and goes straight to the logger's destination, in the same JSON
// form as pino's own lines: level and time first, msg last. Nothing in it is a
// secret: the path and any bodies are scrubbed before they reach it.
import type { Logger } from 'pino'
import { destinationOf } from './logger.js'

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

export function writeRequestLine (logger: Logger, line: RequestLine): void {
  destinationOf(logger)?.write(formatRequestLine(line, Date.now()))
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
