// Every answer sluice gives on its own behalf, in one catalogue.
// Upstream answers are never rewritten; these are the only bodies sluice writes.
// A test checks that each code here is documented in the README.

export const ERRORS = {
  bad_request: { status: 400, message: 'malformed request' },
  not_allowed: { status: 403, message: 'method or path not allowed by the policy' },
  forbidden_destination: { status: 403, message: 'the upstream resolved to an address the policy does not allow' },
  no_route: { status: 404, message: 'no policy matches this request' },
  client_timeout: { status: 408, message: 'the client request stalled' },
  payload_too_large: { status: 413, message: 'request body over the policy limit' },
  headers_too_large: { status: 431, message: 'request headers over the size or count limit' },
  rate_limited: { status: 429, message: 'rate limit reached' },
  // Logged only: nothing can be written to a client that is gone (nginx's 499).
  client_gone: { status: 499, message: 'the client went away before the answer' },
  // A defect in sluice: the stack goes to the log at error, the client sees only this.
  internal: { status: 500, message: 'sluice could not handle the request' },
  upstream_unreachable: { status: 502, message: 'the upstream could not be reached' },
  upstream_tls: { status: 502, message: 'the TLS handshake with the upstream failed' },
  circuit_open: { status: 503, message: 'the circuit breaker for this vendor is open' },
  redis_unavailable: { status: 503, message: 'the rate limit store is unavailable' },
  credential_unavailable: { status: 503, message: 'a credential for this vendor cannot be had' },
  overloaded: { status: 503, message: 'too many calls in flight to this vendor' },
  draining: { status: 503, message: 'sluice is shutting down' },
  jobs_unavailable: { status: 503, message: 'the job store cannot take the job now' },
  upstream_timeout: { status: 504, message: 'the upstream did not answer in time' },
} as const

export type ErrorCode = keyof typeof ERRORS

/**
 * An answer sluice gives itself. `message` is safe to show a client: never a
 * raw library message, a stack or an internal address. The original error, if
 * any, travels as `cause` for the log only.
 */
export class SluiceError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** whole seconds for Retry-After, when the answer has one */
  readonly retryAfterSec: number | undefined
  /** the rate-limit bucket that refused the call (rate_limited) */
  readonly bucket: string | undefined

  constructor (code: ErrorCode, message?: string, opts?: { cause?: unknown, retryAfterSec?: number, bucket?: string }) {
    super(message ?? ERRORS[code].message, opts?.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'SluiceError'
    this.code = code
    this.status = ERRORS[code].status
    this.retryAfterSec = opts?.retryAfterSec
    this.bucket = opts?.bucket
  }
}

export function isSluiceError (err: unknown): err is SluiceError {
  return err instanceof SluiceError
}

/** The JSON body of an error answer. */
export function errorBody (err: SluiceError, vendor: string | undefined, requestId: string): string {
  const body: Record<string, unknown> = { error: err.code, message: err.message, vendor: vendor ?? null, requestId }
  if (err.bucket !== undefined) body.bucket = err.bucket
  return JSON.stringify(body)
}
