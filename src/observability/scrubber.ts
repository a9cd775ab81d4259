// The scrubber of one vendor policy (README "Logs"): compiled once per policy
// load from the policy's fixed lists, like pino's redaction, and then only
// read on each call. Names and paths come from reviewed policy files, never
// from a request. Every string that reaches a log line about a proxied call
// should pass through one of these two methods.
import type { LoggingPolicy } from '../policy/types.js'
import { scrubBody } from './body-scrub.js'
import { BUILTIN_FIELDS, BUILTIN_QUERY_KEYS, compileFieldMatcher } from './field-matcher.js'
import { compileTextPatterns } from './patterns.js'
import { compileSecretValues } from './secret-values.js'
import { scrubPathAndQuery } from './url-scrub.js'

export interface Scrubber {
  /** "/v1/x?token=abc&q=a@b.com" -> "/v1/x?token=[REDACTED]&q=[REDACTED:email]" */
  path (pathWithQuery: string): string
  /** a body for the log, scrubbed and cut at maxBodyBytes, or "[binary N bytes sha256:...]"; never throws */
  body (buf: Buffer, contentType: string | undefined, contentEncoding: string | undefined, totalBytes: number): string
  /** free text (a defect's message and stack) with the secrets and patterns scrubbed */
  text (s: string): string
}

export interface ScrubberOptions {
  logging: LoggingPolicy
  /** names of the query parameters sluice injects (inject.query) */
  injectedQuery?: readonly string[]
  /** the current injected secret values; they rotate, so this is asked on each use */
  secrets?: () => readonly string[]
}

export function compileScrubber (opts: ScrubberOptions): Scrubber {
  const { redact, maxBodyBytes } = opts.logging
  const fields = compileFieldMatcher([...BUILTIN_FIELDS, ...redact.fields])
  const queryKeys = compileFieldMatcher([...BUILTIN_QUERY_KEYS, ...redact.query, ...(opts.injectedQuery ?? [])])
  const patterns = compileTextPatterns(redact.patterns)
  const secrets = compileSecretValues(opts.secrets)

  // internal: the secrets were refreshed by the public method that called it
  function text (s: string): string {
    return patterns(secrets.replace(s))
  }
  const bodyContext = { maxBytes: maxBodyBytes, fields, secrets, text }

  return {
    text (s) {
      secrets.refresh()
      return text(String(s))
    },
    path (pathWithQuery) {
      secrets.refresh()
      // secrets first, on the whole string: one may span a '/' or '&'
      return scrubPathAndQuery(secrets.replace(String(pathWithQuery)), queryKeys, text)
    },
    body (buf, contentType, contentEncoding, totalBytes) {
      try {
        secrets.refresh()
        return scrubBody(bodyContext, buf, contentType, contentEncoding, totalBytes)
      } catch {
        // never a raw fallback: if scrubbing fails, nothing of the body is logged
        return `[unloggable body ${Number(totalBytes) || 0} bytes]`
      }
    },
  }
}
