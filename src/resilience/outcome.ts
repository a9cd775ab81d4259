// How one attempt to reach the vendor ended, as the forwarder classifies it.
// Retry and circuit-breaker decisions both read this one shape.

export type AttemptOutcome =
  /** response headers arrived with this status */
  | { kind: 'status', status: number }
  /** DNS failure, refused, TLS handshake failure: no request byte reached the vendor */
  | { kind: 'connect-error' }
  /** connect: the connection was never made; headers: sent, but no response headers in time */
  | { kind: 'timeout', phase: 'connect' | 'headers' }
  /** the connection died before response headers, after the request may have been sent */
  | { kind: 'reset' }
