// The sluice policies under test, as YAML text for one vendor, "bench",
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

/**
 * The full policy with a cost-weighted bucket beside its token bucket, as an
 * LLM API's tokens-per-minute limit: each call reserves an estimate (the
 * default: the load generators send no body) and settles against the actual
 * cost the response states (its Content-Length here, which differs from the
 * estimate, so every call is settled): two Redis script calls per call.
 */
export function weightedPolicy (upstreamUrl) {
  return fullPolicy(upstreamUrl).replace('      onLimit: reject\n', `      onLimit: reject
    - name: tokens
      capacity: 1000000000000
      refill: 1000000000000/s
      key: vendor
      onLimit: reject
      cost:
        default: 100
        response: header:content-length
`)
}
