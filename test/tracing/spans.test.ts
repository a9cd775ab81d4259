// Tracing on (an OTLP endpoint set), against a real OTLP/HTTP receiver and the
// real process: the client's traceparent reaches the vendor with sluice's
// attempt span as the parent; one span per call (the client's span its
// parent), a child per attempt and one for a rate-limit wait, with the HTTP
// semantic-convention attributes and sluice.*; the log line carries traceId;
// no secret and no PII in any span.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'
import { eventually, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js'

const HEADER_SECRET = 'hdr-secret-quartz-7741'
const QUERY_SECRET = 'qry-secret-garnet-1189'
const EMAIL = 'jane.doe@example.com'
const CARD = '4111111111111111'
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

let receiver: OtlpReceiver
let up: Upstream
let cli: CliProcess
let proxy: string
/** calls seen so far by x-seq, to fail each one's first attempt */
const firstSeen = new Set<string>()

function traceparent (trace: string, span: string): string {
  return `00-${trace}-${span}-01`
}

function spansOf (trace: string): ReceivedSpan[] {
  return receiver.spans.filter(s => s.traceId === trace)
}

function requestLines (): Array<Record<string, unknown>> {
  return cli.stdout.filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.msg === 'request')
}

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  up = await startUpstream((req, res) => {
    const seq = String(req.headers['x-seq'])
    if (req.headers['x-fail-first'] === '1' && !firstSeen.has(seq)) {
      firstSeen.add(seq)
      res.statusCode = 503
      res.end('busy')
      return
    }
    res.end('ok')
  })
  const dir = await policyDir({
    'pay.yaml': [
      'vendor: pay',
      `upstream: ${up.url}`,
      'retry:',
      '  attempts: 3',
      '  backoff: { initial: 5ms, max: 20ms, multiplier: 2, jitter: none }',
      '  budget: 1000%',
      'circuitBreaker:',
      '  enabled: false',
      'rateLimit:',
      '  buckets:',
      '    - name: steady',
      '      capacity: 3',
      '      refill: 10/s',
      '      onLimit: queue',
      '      maxWait: 5s',
      'inject:',
      '  headers:',
      '    X-Api-Key: "${env:TRACE_HEADER_SECRET}"',
      '  query:',
      '    key: "${env:TRACE_QUERY_SECRET}"',
      '',
    ].join('\n'),
    'down.yaml': 'vendor: down\nupstream: http://127.0.0.1:9\nretry:\n  attempts: 1\ncircuitBreaker:\n  enabled: false\n',
  })
  cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    TRACE_HEADER_SECRET: HEADER_SECRET,
    TRACE_QUERY_SECRET: QUERY_SECRET,
  })
  ;({ proxy } = await cli.listening)
})
afterAll(async () => {
  cli.child.kill('SIGTERM')
  await cli.exited
  await up.close()
  await receiver.close()
})

describe('a call retried once', () => {
  let vendorSaw: string[]
  let call: ReceivedSpan
  let attempts: ReceivedSpan[]

  beforeAll(async () => {
    const res = await request(`${proxy}/pay/v1/charges?email=${encodeURIComponent(EMAIL)}&card=${CARD}`, {
      headers: { traceparent: traceparent(CLIENT_TRACE, CLIENT_SPAN), tracestate: 'acme=t61rcWkgMzE', 'x-seq': 'retried', 'x-fail-first': '1' },
    })
    expect(res.statusCode).toBe(200)
    await res.body.text()
    vendorSaw = up.seen.filter(s => s.headers['x-seq'] === 'retried').map(s => String(s.headers.traceparent))
    await eventually(() => spansOf(CLIENT_TRACE).some(s => s.kind === 2))
    call = spansOf(CLIENT_TRACE).find(s => s.kind === 2) as ReceivedSpan
    attempts = spansOf(CLIENT_TRACE).filter(s => s.kind === 3).sort((a, b) => Number(a.startNs - b.startNs))
  })

  it('is one server span whose parent is the client\'s span, in the client\'s trace', () => {
    expect(spansOf(CLIENT_TRACE).filter(s => s.kind === 2)).toHaveLength(1)
    expect(call.parentSpanId).toBe(CLIENT_SPAN)
    expect(call.name).toBe('GET pay')
    expect(call.resource['service.name']).toBe('sluice')
  })

  it('has one client span per attempt, each the parent the vendor saw for that attempt', () => {
    expect(vendorSaw).toHaveLength(2)
    expect(attempts).toHaveLength(2)
    for (const [i, attempt] of attempts.entries()) {
      expect(attempt.parentSpanId).toBe(call.spanId)
      expect(vendorSaw[i]).toBe(traceparent(CLIENT_TRACE, attempt.spanId))
    }
    const tracestates = up.seen.filter(s => s.headers['x-seq'] === 'retried').map(s => s.headers.tracestate)
    expect(tracestates).toEqual(['acme=t61rcWkgMzE', 'acme=t61rcWkgMzE'])
  })

  it('carries the HTTP semantic-convention attributes and sluice.*', () => {
    expect(call.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'url.path': '/pay/v1/charges',
      'sluice.vendor': 'pay',
      'sluice.attempts': 2,
    })
    expect(call.attributes['sluice.error']).toBeUndefined()
    const [first, second] = attempts as [ReceivedSpan, ReceivedSpan]
    expect(first.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 503,
      'error.type': '503',
      'server.address': '127.0.0.1',
      'server.port': up.port,
      'sluice.vendor': 'pay',
    })
    expect(first.status.code).toBe(2)
    expect(first.attributes['http.request.resend_count']).toBeUndefined()
    expect(second.attributes).toMatchObject({ 'http.response.status_code': 200, 'http.request.resend_count': 1 })
    expect(String(second.attributes['url.full'])).toMatch(new RegExp(`^${up.url}/v1/charges\\?`))
  })

  it('puts the trace id on the request log line', async () => {
    await eventually(() => requestLines().some(l => l.vendor === 'pay' && l.attempts === 2))
    const line = requestLines().find(l => l.vendor === 'pay' && l.attempts === 2) as Record<string, unknown>
    expect(line.traceId).toBe(CLIENT_TRACE)
  })
})

describe('a call queued for a token', () => {
  it('has a rate-limit wait span under its call span', async () => {
    // capacity 3: the fourth call at once waits for the refill
    const traces = ['a', 'b', 'c', 'd', 'e'].map(c => c.repeat(32))
    await Promise.all(traces.map(async (t, i) => {
      const res = await request(`${proxy}/pay/v1/q`, { headers: { traceparent: traceparent(t, '1'.repeat(16)), 'x-seq': `q${i}` } })
      await res.body.text()
    }))
    await eventually(() => traces.filter(t => spansOf(t).some(s => s.kind === 2)).length === traces.length)
    const waits = traces.flatMap(t => spansOf(t).filter(s => s.name === 'rate-limit wait'))
    expect(waits.length).toBeGreaterThan(0)
    for (const w of waits) {
      const call = spansOf(w.traceId).find(s => s.kind === 2) as ReceivedSpan
      expect(w.parentSpanId).toBe(call.spanId)
      expect(w.attributes['sluice.bucket']).toBe('steady')
      expect(Number(w.attributes['sluice.wait_ms'])).toBeGreaterThan(0)
      expect(w.endNs).toBeGreaterThan(w.startNs)
    }
  })
})

describe('a call sluice answers with an error', () => {
  it('names the error on the call span (sluice.error) and the attempt span (error.type)', async () => {
    const trace = 'f'.repeat(32)
    const res = await request(`${proxy}/down/x`, { headers: { traceparent: traceparent(trace, '2'.repeat(16)) } })
    await res.body.text()
    expect(res.statusCode).toBeGreaterThanOrEqual(500)
    await eventually(() => spansOf(trace).some(s => s.kind === 2))
    const call = spansOf(trace).find(s => s.kind === 2) as ReceivedSpan
    const code = res.headers['x-sluice-error']
    expect(call.attributes['sluice.error']).toBe(code)
    expect(call.attributes['http.response.status_code']).toBe(res.statusCode)
    expect(call.status.code).toBe(2)
    const attempt = spansOf(trace).find(s => s.kind === 3) as ReceivedSpan
    expect(attempt.attributes['error.type']).toBe('ECONNREFUSED')
  })
})

describe('a call the client did not sample', () => {
  it('still gives the vendor a traceparent naming sluice\'s span, unsampled, and exports nothing of it', async () => {
    const unsampled = '9'.repeat(32)
    const res = await request(`${proxy}/pay/v1/u`, { headers: { traceparent: `00-${unsampled}-${'4'.repeat(16)}-00`, 'x-seq': 'unsampled' } })
    await res.body.text()
    const seen = String(up.seen.find(s => s.headers['x-seq'] === 'unsampled')?.headers.traceparent)
    expect(seen).toMatch(new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`))
    expect(seen).not.toContain('4'.repeat(16))
    // a sampled call after it: once its span is in, the unsampled one would be too
    const after = '8'.repeat(32)
    await (await request(`${proxy}/pay/v1/u`, { headers: { traceparent: traceparent(after, '5'.repeat(16)), 'x-seq': 'after' } })).body.text()
    await eventually(() => spansOf(after).some(s => s.kind === 2))
    expect(spansOf(unsampled)).toEqual([])
  })
})

describe('what is exported', () => {
  it('holds no injected secret and no PII from the query, in any span', async () => {
    await eventually(() => spansOf(CLIENT_TRACE).length >= 3)
    const all = receiver.bodies.join('\n')
    expect(all.length).toBeGreaterThan(0)
    for (const leak of [HEADER_SECRET, QUERY_SECRET, EMAIL, encodeURIComponent(EMAIL), CARD]) expect(all).not.toContain(leak)
    const urls = receiver.spans.map(s => String(s.attributes['url.full'] ?? s.attributes['url.query'] ?? ''))
    expect(urls.some(u => u.includes('REDACTED'))).toBe(true)
  })
})
