// A real OTLP/HTTP trace receiver for tests: a node:http server on 127.0.0.1
// port 0 that takes POST /v1/traces in the JSON encoding
// (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and keeps every span, flattened,
// and every request body as received (to search for secrets).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  /** 1 internal, 2 server, 3 client */
  kind: number
  attributes: Record<string, string | number | boolean>
  status: { code?: number }
  startNs: bigint
  endNs: bigint
  resource: Record<string, string | number | boolean>
}

export interface OtlpReceiver {
  url: string
  spans: ReceivedSpan[]
  /** each export request's body, as text */
  bodies: string[]
  /** each export request's body, as bytes */
  raw: Buffer[]
  /** content-type of each export request */
  contentTypes: string[]
  close (): Promise<void>
}

interface OtlpValue { stringValue?: string, intValue?: string | number, boolValue?: boolean, doubleValue?: number }
interface OtlpAttr { key: string, value: OtlpValue }

function attrs (list: OtlpAttr[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const a of list ?? []) {
    const v = a.value
    out[a.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? ''
  }
  return out
}

export async function startOtlpReceiver (): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const bodies: string[] = []
  const contentTypes: string[] = []
  const raw: Buffer[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      raw.push(Buffer.concat(chunks))
      const text = Buffer.concat(chunks).toString('utf8')
      bodies.push(text)
      contentTypes.push(String(req.headers['content-type']))
      if (req.url === '/v1/traces' && String(req.headers['content-type']).includes('json')) {
        const body = JSON.parse(text) as { resourceSpans?: Array<{ resource?: { attributes?: OtlpAttr[] }, scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }> }
        for (const rs of body.resourceSpans ?? []) {
          const resource = attrs(rs.resource?.attributes)
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: String(s.traceId),
                spanId: String(s.spanId),
                parentSpanId: String(s.parentSpanId ?? ''),
                name: String(s.name),
                kind: Number(s.kind),
                attributes: attrs(s.attributes as OtlpAttr[]),
                status: (s.status ?? {}) as { code?: number },
                startNs: BigInt(String(s.startTimeUnixNano)),
                endNs: BigInt(String(s.endTimeUnixNano)),
                resource,
              })
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    raw,
    contentTypes,
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

/** Waits until `cond` holds, polling, for at most `ms`. */
export async function eventually (cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
