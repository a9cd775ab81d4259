// The scrubber of one vendor policy (README "Logs"): compiled once per policy
// load from the policy's fixed lists, like pino's redaction, and then only
// read on each call. Names and paths come from reviewed policy files, never
// from a request. Every string that reaches a log line about a proxied call
// should pass through one of these four methods.
import type { LoggingPolicy } from '../policy/types.js'
import { scrubBody } from './body-scrub.js'
import { BUILTIN_FIELDS, BUILTIN_QUERY_KEYS, compileFieldMatcher, FIELD_MARKER } from './field-matcher.js'
import { compileTextPatterns } from './patterns.js'
import { compileSecretValues } from './secret-values.js'
import { scrubPairs, scrubPathAndQuery } from './url-scrub.js'

/** Headers whose values never reach a log, added to the injected ones and `logging.redact.headers`. */
export const BUILTIN_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']

export interface Scrubber {
  /** a copy with redacted headers' values replaced by "[REDACTED]", patterns scrubbed in the others */
  headers (h: Record<string, string | string[] | undefined>): Record<string, string | string[]>
  /** "/v1/x?token=abc&q=a@b.com" -> "/v1/x?token=[REDACTED]&q=[REDACTED:email]" */
  path (pathWithQuery: string): string
  /** a body for the log, scrubbed and cut at maxBodyBytes, or "[binary N bytes sha256:...]"; never throws */
  body (buf: Buffer, contentType: string | undefined, contentEncoding: string | undefined, totalBytes: number): string
  /** secrets and patterns in free text */
  text (s: string): string
}

export interface ScrubberOptions {
  logging: LoggingPolicy
  /** names of the headers sluice injects (inject.headers, the oauth2 header) */
  injectedHeaders: readonly string[]
  /** names of the query parameters sluice injects (inject.query) */
  injectedQuery?: readonly string[]
  /** the current injected secret values; they rotate, so this is asked on each use */
  secrets?: () => readonly string[]
}

// Header values that carry URLs (Location, Link, Referer) get their query masked too.
const URL_QUERY = /\?([^\s<>"'#]*)/g

export function compileScrubber (opts: ScrubberOptions): Scrubber {
  const { redact, maxBodyBytes } = opts.logging
  const redactedHeaders = new Set([...BUILTIN_HEADERS, ...opts.injectedHeaders, ...redact.headers].map(h => h.toLowerCase()))
  const fields = compileFieldMatcher([...BUILTIN_FIELDS, ...redact.fields])
  const queryKeys = compileFieldMatcher([...BUILTIN_QUERY_KEYS, ...redact.query, ...(opts.injectedQuery ?? [])])
  const patterns = compileTextPatterns(redact.patterns)
  const secrets = compileSecretValues(opts.secrets)

  // internal: the secrets were refreshed by the public method that called it
  function text (s: string): string {
    return patterns(secrets.replace(s))
  }
  const bodyContext = { maxBytes: maxBodyBytes, fields, secrets, text }
  const scrubQuery = (_match: string, query: string): string => '?' + scrubPairs(query, queryKeys, text)
  const redactValue = (): string => FIELD_MARKER

  function headerValue (value: string): string {
    const scrubbed = text(String(value))
    return scrubbed.includes('?') ? scrubbed.replace(URL_QUERY, scrubQuery) : scrubbed
  }

  return {
    headers (h) {
      secrets.refresh()
      const out: Record<string, string | string[]> = {}
      for (const name of Object.keys(h)) {
        const value = h[name]
        if (value === undefined) continue
        const redacted = redactedHeaders.has(name.toLowerCase())
        const scrubbed = Array.isArray(value)
          ? value.map(redacted ? redactValue : headerValue)
          : redacted ? FIELD_MARKER : headerValue(value)
        // a header named __proto__ must stay a plain property
        Object.defineProperty(out, name, { value: scrubbed, enumerable: true, writable: true, configurable: true })
      }
      return out
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
    text (s) {
      secrets.refresh()
      return text(String(s))
    },
  }
}
