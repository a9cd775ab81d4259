// Every way an upstream attempt can fail, mapped in one place to what the retry
// logic, the breaker, the metrics and the client see. The raw library error
// stays as `cause` for the log; the client gets only the catalogue message.
import { SluiceError } from '../errors.js'
import type { UpstreamErrorKind } from '../observability/metrics.js'
import type { AttemptOutcome } from '../resilience/outcome.js'

export const FORBIDDEN_DESTINATION = 'SLUICE_FORBIDDEN_DESTINATION'

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL',
])

// A failed TLS handshake is a configuration matter (trust, names, client
// certificate, versions), not a flaky vendor: it is neither retried nor counted
// by the breaker. The reason is named for the client; the code goes to the log.
const UNKNOWN_CA = 'the vendor\'s certificate is signed by a CA sluice does not trust (tls.ca, SLUICE_CA_FILE)'
const CLIENT_CERT_REFUSED = 'the vendor refused the client certificate (tls.cert, tls.key)'
const TLS_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNKNOWN_CA,
  UNABLE_TO_GET_ISSUER_CERT: UNKNOWN_CA,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNKNOWN_CA,
  SELF_SIGNED_CERT_IN_CHAIN: UNKNOWN_CA,
  DEPTH_ZERO_SELF_SIGNED_CERT: UNKNOWN_CA,
  CERT_UNTRUSTED: UNKNOWN_CA,
  CERT_SIGNATURE_FAILURE: 'the vendor\'s certificate has a bad signature',
  CERT_HAS_EXPIRED: 'the vendor\'s certificate has expired',
  CERT_NOT_YET_VALID: 'the vendor\'s certificate is not yet valid',
  CERT_REVOKED: 'the vendor\'s certificate is revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the vendor\'s certificate does not name the upstream host (or tls.servername)',
  HOSTNAME_MISMATCH: 'the vendor\'s certificate does not name the upstream host (or tls.servername)',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: CLIENT_CERT_REFUSED,
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: CLIENT_CERT_REFUSED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: CLIENT_CERT_REFUSED,
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: CLIENT_CERT_REFUSED,
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: CLIENT_CERT_REFUSED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the vendor refused the client certificate as expired',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'the vendor refused the handshake (no client certificate it accepts, or no common cipher)',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'no TLS version both sides accept (tls.minVersion)',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'no TLS version both sides accept (tls.minVersion)',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'no TLS version both sides accept (tls.minVersion)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the vendor does not speak TLS on this port',
}

function tlsReason (code: string): string | undefined {
  const reason = TLS_REASONS[code]
  if (reason !== undefined) return reason
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_')) return 'the handshake failed'
  return undefined
}

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
  const tls = code === undefined ? undefined : tlsReason(code)
  if (tls !== undefined) {
    return { outcome: undefined, kind: 'tls', error: new SluiceError('upstream_tls', `TLS to ${vendor} failed: ${tls}`, { cause: err }) }
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
