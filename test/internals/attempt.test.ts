// proxy/attempt against its narrow interface: a plain object as the call, a
// real undici Pool to a real upstream, and a real client-facing server whose
// response the attempt relays onto. No pipeline, no CallContext.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Pool, request } from 'undici'
import { Metrics } from '../../src/observability/metrics.js'
import { UpstreamAttempt, type AttemptCall, type AttemptResult, type AttemptVendor, type StatusPlanner } from '../../src/proxy/attempt.js'
import { startUpstream, type Upstream, type UpstreamHandler } from '../helpers/upstream.js'

const open: Array<{ close: () => Promise<unknown> }> = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

function plainCall (req: IncomingMessage, res: ServerResponse): AttemptCall {
  return {
    requestId: 'req-1',
    req,
    res,
    attempt: undefined,
    upstreamMs: 0,
    status: 0,
    relayed: false,
    resBytes: 0,
    cutOff: false,
    cause: undefined,
    ruleBody: undefined,
    resBodyLog: undefined,
    resContentType: undefined,
    resContentEncoding: undefined,
    injectedQueryKeys: undefined,
    rewriteTarget: () => 'http://sluice.test/v',
    costTap: undefined,
    addResponseHeaders: (headers) => { headers.push('x-added', 'by-call') },
  }
}

interface Rig {
  upstream: Upstream
  metrics: Metrics
  /** one call through a front server; the attempt's call object and result once it settled */
  call (opts?: { planner?: StatusPlanner<AttemptCall>, onStart?: (call: AttemptCall) => void }): Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    body: string | Error
    call: AttemptCall
    result: AttemptResult
  }>
}

async function rig (handler: UpstreamHandler, vendorOpts: Partial<AttemptVendor> = {}): Promise<Rig> {
  const upstream = await startUpstream(handler)
  open.push(upstream)
  const pool = new Pool(upstream.url)
  open.push(pool)
  const metrics = new Metrics({ processMetrics: false })
  const vendor: AttemptVendor = {
    pool,
    metrics: metrics.vendor('acme'),
    policy: { timeouts: { readMs: 10_000 } },
    upstreamUrls: [`${upstream.url}/base`],
    readsRuleBody: false,
    logBodyBytes: undefined,
    ...vendorOpts,
  }
  return {
    upstream,
    metrics,
    call: async (opts = {}) => {
      let settled: Promise<{ call: AttemptCall, result: AttemptResult }> | undefined
      const front: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const call = plainCall(req, res)
        settled = new Promise(resolve => {
          const attempt = new UpstreamAttempt(call, vendor, opts.planner ?? (() => undefined), (c, result) => {
            // What the pipeline would do when nothing was relayed: answer itself.
            if (!c.relayed) res.end(`not relayed: ${result.kind}`)
            resolve({ call: c, result })
          })
          attempt.start({ path: '/base/thing', method: 'GET', headers: ['x-test', '1'], body: null })
          opts.onStart?.(call)
        })
      })
      await new Promise<void>(resolve => front.listen(0, '127.0.0.1', resolve))
      open.push({ close: () => new Promise(resolve => { front.closeAllConnections(); front.close(resolve) }) })
      const res = await request(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`)
      const body = await res.body.text().catch((err: Error) => err)
      const { call, result } = await (settled as NonNullable<typeof settled>)
      return { status: res.statusCode, headers: res.headers, body, call, result }
    },
  }
}

async function upstreamCount (metrics: Metrics): Promise<number> {
  const text = await metrics.registry.metrics()
  const m = /sluice_upstream_duration_seconds_count\{vendor="acme"\} (\d+)/.exec(text)
  return m === null ? 0 : Number(m[1])
}

describe('an upstream attempt, driven through its interface', () => {
  it('relays status, headers (Location rewritten) and body, and reports them on the call', async () => {
    const r = await rig((_req, res) => {
      res.writeHead(201, { 'content-type': 'text/plain', location: `http://127.0.0.1:${r.upstream.port}/base/next` })
      res.end('hello')
    })
    const out = await r.call()
    expect(out.result).toEqual({ kind: 'relayed' })
    expect(out.status).toBe(201)
    expect(out.body).toBe('hello')
    expect(out.headers.location).toBe('http://sluice.test/v/next')
    expect(out.headers['x-request-id']).toBe('req-1')
    expect(out.headers['x-added']).toBe('by-call')
    expect(out.call).toMatchObject({ status: 201, relayed: true, resBytes: 5, cutOff: false, resContentType: 'text/plain' })
    expect(out.call.upstreamMs).toBeGreaterThan(0)
    expect(r.upstream.seen[0]).toMatchObject({ method: 'GET', url: '/base/thing' })
    expect(r.upstream.seen[0]?.headers['x-test']).toBe('1')
    expect(await upstreamCount(r.metrics)).toBe(1)
  })

  it('swallows a response the planner retries: nothing reaches the client', async () => {
    const r = await rig((_req, res) => { res.writeHead(503); res.end('busy') })
    const seen: number[] = []
    const out = await r.call({
      planner: (_call, status) => {
        seen.push(status)
        return { kind: 'retry', reason: String(status), delayMs: 0, renewCredentials: false }
      },
    })
    expect(seen).toEqual([503])
    expect(out.result).toEqual({ kind: 'retry', reason: '503', delayMs: 0, renewCredentials: false })
    expect(out.call.relayed).toBe(false)
    expect(out.status).toBe(200)
    expect(out.body).toBe('not relayed: retry')
  })

  it('a body cut off upstream is cut off for the client and reported', async () => {
    const r = await rig((_req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('partial')
      setImmediate(() => res.socket?.destroy())
    })
    const out = await r.call()
    expect(out.result).toEqual({ kind: 'relayed' })
    expect(out.body).toBeInstanceOf(Error)
    expect(out.call.cutOff).toBe(true)
    expect(out.call.cause).toBeInstanceOf(Error)
  })

  it('the attempt set on the call, aborted, ends the attempt as failed before any response', async () => {
    const r = await rig(() => { /* never answers */ })
    const out = await r.call({ onStart: (call) => call.attempt?.abort(new Error('deadline')) })
    expect(out.result.kind).toBe('failed')
    expect(out.call.relayed).toBe(false)
  })

  it('keeps the start of a JSON 2xx body for a breaker rule, and the body head for the log', async () => {
    const r = await rig((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":false,"error":"quota"}')
    }, { readsRuleBody: true, logBodyBytes: 5 })
    const out = await r.call()
    expect(out.call.ruleBody?.toString()).toBe('{"ok":false,"error":"quota"}')
    expect(out.call.resBodyLog?.toString()).toBe('{"ok"')
  })

  it('keeps no body when the vendor reads none', async () => {
    const r = await rig((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
    const out = await r.call()
    expect(out.call.ruleBody).toBeUndefined()
    expect(out.call.resBodyLog).toBeUndefined()
  })
})
