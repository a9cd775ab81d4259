// The process logger: pino JSON lines on stdout, written asynchronously so a
// slow stdout never stalls a call. Redaction of known secret-bearing keys is a
// second line of defence; the scrubber cleans values before they are logged.
import pino, { type Logger } from 'pino'

export type { Logger }

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
  }, destination ?? pino.destination({ dest: 1, sync: false }))
}
