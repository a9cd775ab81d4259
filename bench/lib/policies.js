// The two sluice policies under test, as YAML text for one vendor, "bench",
// in front of the benchmark's upstream.

/** The env variable the full policy injects as a bearer token (a dummy value, never a secret). */
export const API_KEY_ENV = 'SLUICE_BENCH_API_KEY'

/** No buckets, no injection; the breaker and everything else at their defaults. */
export function passthroughPolicy (upstreamUrl) {
  return `vendor: bench
upstream: ${upstreamUrl}
`
}

/**
 * Everything a production policy would switch on: a Redis token bucket so
 * large it never refuses (onLimit: reject, so a refusal would show up as an
 * error rather than as a wait), the circuit breaker, a credential injected
 * from the environment, and the request log line without bodies. Metrics are
 * always on.
 */
export function fullPolicy (upstreamUrl) {
  return `vendor: bench
upstream: ${upstreamUrl}
rateLimit:
  mode: enforce
  failMode: open
  buckets:
    - name: never-empty
      capacity: 1000000000
      refill: 1000000000/s
      key: vendor
      onLimit: reject
circuitBreaker:
  enabled: true
inject:
  headers:
    Authorization: "Bearer \${env:${API_KEY_ENV}}"
logging:
  bodies: false
`
}
