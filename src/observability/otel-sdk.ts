// The OpenTelemetry SDK behind tracing.ts, imported only when tracing is on.
// Everything else comes from the standard OTEL_* variables, read by the SDK
// itself: the endpoint and headers of the OTLP exporter, the sampler
// (OTEL_TRACES_SAMPLER / _ARG, default parent-based always-on), the batch
// processor's delays and sizes, and the resource (OTEL_SERVICE_NAME, default
// "sluice"; OTEL_RESOURCE_ATTRIBUTES).
//
// Spans carry nothing a log line would not: URLs and paths arrive scrubbed,
// errors are named by code, never by message, and no header is recorded.
import type { IncomingHttpHeaders } from 'node:http'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, trace, type Context, type Span, type TextMapSetter, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import {
  ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_REQUEST_RESEND_COUNT, ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_SERVICE_NAME, ATTR_URL_FULL, ATTR_URL_PATH, ATTR_URL_QUERY,
} from '@opentelemetry/semantic-conventions'
import type { CallTrace, OtlpProtocol, PathScrubber, Tracing } from './tracing.js'

const propagator = new W3CTraceContextPropagator()

export async function startOtelTracing (protocol: OtlpProtocol): Promise<Tracing> {
  const exporter: SpanExporter = protocol === 'http/json'
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
    : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter()
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'sluice' }))
    .merge(detectResources({ detectors: [envDetector] }))
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] })
  const tracer = provider.getTracer('sluice')
  return {
    startCall: (headers, method) => new OtelCallTrace(tracer, headers, method),
    shutdown: () => provider.shutdown(),
  }
}

/** Sets traceparent/tracestate in undici's flat header list, replacing the client's. */
const flatHeaderSetter: TextMapSetter<string[]> = {
  set (headers, name, value) {
    for (let i = 0; i < headers.length; i += 2) {
      if ((headers[i] as string).toLowerCase() === name) {
        headers[i + 1] = value
        return
      }
    }
    headers.push(name, value)
  },
}

/** host and port of each vendor origin, parsed once */
const servers = new Map<string, { address: string, port: number }>()

function serverOf (url: string): { address: string, port: number } {
  const slash = url.indexOf('/', url.indexOf('//') + 2)
  const origin = slash === -1 ? url : url.slice(0, slash)
  let s = servers.get(origin)
  if (s === undefined) {
    const u = new URL(origin)
    s = { address: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port) }
    servers.set(origin, s)
  }
  return s
}

class OtelCallTrace implements CallTrace {
  readonly traceId: string
  readonly #tracer: Tracer
  readonly #span: Span
  readonly #context: Context
  readonly #method: string
  #attempt: Span | undefined

  constructor (tracer: Tracer, headers: IncomingHttpHeaders, method: string) {
    this.#tracer = tracer
    this.#method = method
    const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
    this.#span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method } }, parent)
    this.#context = trace.setSpan(parent, this.#span)
    this.traceId = this.#span.spanContext().traceId
  }

  waited (waitMs: number, bucket: string | undefined): void {
    const end = Date.now()
    const span = this.#tracer.startSpan('rate-limit wait', { kind: SpanKind.INTERNAL, startTime: end - waitMs }, this.#context)
    if (bucket !== undefined) span.setAttribute('sluice.bucket', bucket)
    span.setAttribute('sluice.wait_ms', waitMs)
    span.end(end)
  }

  attemptStarted (headers: string[], method: string, attempt: number, vendor: string, origin: string, path: string, scrubber: PathScrubber): void {
    this.#attempt?.end()
    if (!this.#span.isRecording()) {
      // not sampled: the vendor still learns the trace, through a span that records nothing
      const span = this.#tracer.startSpan(method, { kind: SpanKind.CLIENT }, this.#context)
      this.#attempt = span
      propagator.inject(trace.setSpan(this.#context, span), headers, flatHeaderSetter)
      return
    }
    const url = origin + scrubber.path(path)
    const server = serverOf(url)
    const span = this.#tracer.startSpan(method, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_URL_FULL]: url,
        [ATTR_SERVER_ADDRESS]: server.address,
        [ATTR_SERVER_PORT]: server.port,
        'sluice.vendor': vendor,
        'sluice.attempt': attempt,
      },
    }, this.#context)
    if (attempt > 1) span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, attempt - 1)
    this.#attempt = span
    propagator.inject(trace.setSpan(this.#context, span), headers, flatHeaderSetter)
  }

  attemptStatus (status: number): void {
    const span = this.#attempt
    if (span === undefined) return
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
    if (status >= 400) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
  }

  attemptEnded (err: Error | undefined): void {
    const span = this.#attempt
    if (span === undefined) return
    this.#attempt = undefined
    if (err !== undefined) {
      // the code only: a library's message may quote a URL or a header
      const code = (err as { code?: unknown }).code
      span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : err.name)
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    span.end()
  }

  end (status: number, vendor: string | undefined, attempts: number, error: string | undefined, rawPath: string, scrubber: PathScrubber): void {
    this.#attempt?.end()
    const span = this.#span
    if (!span.isRecording()) {
      span.end()
      return
    }
    const path = scrubber.path(rawPath)
    const q = path.indexOf('?')
    span.setAttribute(ATTR_URL_PATH, q === -1 ? path : path.slice(0, q))
    if (q !== -1) span.setAttribute(ATTR_URL_QUERY, path.slice(q + 1))
    if (status !== 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
    if (vendor !== undefined) {
      span.setAttribute('sluice.vendor', vendor)
      span.updateName(`${this.#method} ${vendor}`)
    }
    span.setAttribute('sluice.attempts', attempts)
    if (error !== undefined) {
      span.setAttribute('sluice.error', error)
      span.setAttribute(ATTR_ERROR_TYPE, error)
    }
    if (status >= 500 || (error !== undefined && status === 0)) span.setStatus({ code: SpanStatusCode.ERROR })
    span.end()
  }
}
