// Tracing with OpenTelemetry, on only when an OTLP endpoint is configured
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Off,
// nothing here is loaded: no SDK, no span, and a call's `trace` stays
// undefined, so the pipeline's `ctx.trace?.…` hooks cost a property read and
// the client's traceparent/tracestate pass to the vendor unchanged like any
// header. On, the SDK is imported once at start (otel-sdk.ts).
import type { IncomingHttpHeaders } from 'node:http'

/** The spans of one call: the call itself, a child per attempt and one for a rate-limit wait. */
export interface CallTrace {
  /** the call's trace id (32 hex digits), for the log line */
  readonly traceId: string
  /** The call waited `waitMs` in the rate-limit queue for `bucket`, ending now. */
  waited (waitMs: number, bucket: string | undefined): void
  /**
   * An attempt is about to be sent: its span starts, and `headers` (undici's
   * flat [name, value, ...] list) gets its traceparent/tracestate. The span's
   * URL is `origin` + `path` scrubbed as in the log line (only when sampled).
   */
  attemptStarted (headers: string[], method: string, attempt: number, vendor: string, origin: string, path: string, scrubber: PathScrubber): void
  /** The attempt's final response headers came in. */
  attemptStatus (status: number): void
  /** The attempt is over; `err` when it failed before a response. */
  attemptEnded (err: Error | undefined): void
  /** The call is over; `path` is scrubbed as in the log line (only when sampled). */
  end (status: number, vendor: string | undefined, attempts: number, error: string | undefined, path: string, scrubber: PathScrubber): void
}

/** The log line's scrubbing of a path and query. */
export interface PathScrubber {
  path (pathAndQuery: string): string
}

export interface Tracing {
  /** The call span, a child of the client's traceparent when it sent one. */
  startCall (headers: IncomingHttpHeaders, method: string): CallTrace
  /** Exports what is still batched, then stops. */
  shutdown (): Promise<void>
}

export type OtlpProtocol = 'http/protobuf' | 'http/json'

/** Loads the OpenTelemetry SDK and starts exporting; called only when tracing is on. */
export async function startTracing (protocol: OtlpProtocol): Promise<Tracing> {
  const { startOtelTracing } = await import('./otel-sdk.js')
  return await startOtelTracing(protocol)
}
