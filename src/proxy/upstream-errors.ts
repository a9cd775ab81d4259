// Every way an upstream attempt can fail, mapped in one place to what the retry
// logic, the breaker, the metrics and the client see. The raw library error
// stays as `cause` for the log; the client gets only the catalogue message.
import { SluiceError } from '../errors.js'
import type { UpstreamErrorKind } from '../observability/metrics.js'
import type { AttemptOutcome } from '../resilience/outcome.js'

export const FORBIDDEN_DESTINATION = 'SLUICE_FORBIDDEN_DESTINATION'

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN',
])

export interface MappedFailure {
  /** for retry and breaker decisions; undefined when the failure is not the upstream's */
  outcome: AttemptOutcome | undefined
  /** for sluice_upstream_errors_total */
  kind: UpstreamErrorKind | undefined
  /** what the client is answered when no retry follows */
  error: SluiceError
}

/** Maps an error raised while an attempt had not yet relayed response headers. */
export function mapUpstreamError (err: unknown, vendor: string): MappedFailure {
  if (err instanceof SluiceError) return { outcome: undefined, kind: undefined, error: err }
  const code = (err as { code?: string } | null)?.code
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { outcome: { kind: 'timeout', phase: 'connect' }, kind: 'timeout', error: new SluiceError('upstream_timeout', `connect timeout: ${vendor} did not accept a connection in time`, { cause: err }) }
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { outcome: { kind: 'timeout', phase: 'headers' }, kind: 'timeout', error: new SluiceError('upstream_timeout', `read timeout: ${vendor} sent no response headers in time`, { cause: err }) }
    case FORBIDDEN_DESTINATION:
      return { outcome: undefined, kind: undefined, error: new SluiceError('forbidden_destination', `${vendor} resolved to an address the policy does not allow`, { cause: err }) }
  }
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return { outcome: { kind: 'connect-error' }, kind: 'connect', error: new SluiceError('upstream_unreachable', `${vendor} could not be reached`, { cause: err }) }
  }
  // ECONNRESET, EPIPE, UND_ERR_SOCKET ("other side closed") and anything else
  // that ended the exchange after the request may have gone out.
  return { outcome: { kind: 'reset' }, kind: 'reset', error: new SluiceError('upstream_unreachable', `${vendor} closed the connection before answering`, { cause: err }) }
}

export function totalTimeoutError (vendor: string): SluiceError {
  return new SluiceError('upstream_timeout', `total deadline passed: the call to ${vendor} took longer than timeouts.total`)
}
