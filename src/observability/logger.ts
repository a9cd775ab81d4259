// The process logger: pino JSON lines on stdout, written asynchronously so a
// slow stdout never stalls a call. Redaction of known secret-bearing keys is a
// second line of defence; the scrubber cleans values before they are logged.
//
// Lines are batched (line-batcher.ts): stdout is written once LOG_BATCH_BYTES
// have gathered, or every LOG_FLUSH_MS, whichever comes first. A write per line
// (or per handful of lines) was a libuv thread-pool round trip each, about
// 10 µs of CPU per call at saturation (bench/README.md). What is still batched
// is written when the process exits. What stdout cannot take is held up to
// LOG_MAX_PENDING_BYTES, then dropped rather than growing memory without bound.
import pino, { type Logger } from 'pino'
import { LineBatcher } from './line-batcher.js'

export type { Logger }

const LOG_BATCH_BYTES = 32 * 1024
const LOG_FLUSH_MS = 250
const LOG_MAX_PENDING_BYTES = 16 * 1024 * 1024

export function createLogger (level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: null,
    messageKey: 'msg',
    redact: {
      paths: ['authorization', 'headers.authorization', 'headers.cookie', 'headers["x-api-key"]', 'token', 'clientSecret', 'value'],
      censor: '[REDACTED]',
    },
    formatters: { level: (label) => ({ level: label }) },
  }, destination ?? stdoutBatcher())
}

/** stdout's batcher, and the exit hook that writes what it still holds. */
function stdoutBatcher (): LineBatcher {
  const out = new LineBatcher(1, { batchBytes: LOG_BATCH_BYTES, flushMs: LOG_FLUSH_MS, maxPendingBytes: LOG_MAX_PENDING_BYTES })
  process.once('exit', () => out.flushSync())
  return out
}

interface Destination {
  write (line: string): unknown
  flush?: (cb?: (err?: Error) => void) => void
}

/** Where the logger's lines go (stdout's batching stream, or a test's sink). */
export function destinationOf (logger: Logger): Destination | undefined {
  return (logger as unknown as Record<symbol, Destination | undefined>)[pino.symbols.streamSym]
}

/** Pushes batched lines out now, without waiting for them to be written. */
export function flushSoon (logger: Logger): void {
  destinationOf(logger)?.flush?.()
}
