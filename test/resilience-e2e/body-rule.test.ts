// circuitBreaker.bodyRule: a "200 OK" whose JSON body says it failed
// ({"success": false}) counts against the vendor, while the client still gets
// the vendor's 200 byte for byte. Reading the body must not change how any
// response streams: other content types, and bodies too large to judge, pass
// chunk by chunk as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { sleep } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

const POLICY = 'retry:\n  attempts: 1\ncircuitBreaker:\n  failureRate: 50%\n  minimumRequests: 5\n  window: 10s\n  openFor: 5s\n  bodyRule: { path: success, equals: false }\n'
const FAILED = '{ "success": false, "error": { "code": "card_declined", "note": "é" } }\n'

let json: Upstream
let streaming: Upstream
let body = FAILED
let contentType = 'application/json; charset=utf-8'
let releaseStream: () => void = () => {}
let sluice: TestSluice

beforeAll(async () => {
  json = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': contentType })
    res.end(body)
  })
  // A JSON response that streams: its second half waits until the test says so.
  streaming = await startUpstream(undefined, {
    streaming: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"success": false, "items": [')
      releaseStream = () => { res.end('1]}') }
    },
  })
  sluice = await startTestSluice({
    'rule.yaml': `vendor: rule\nupstream: ${json.url}\n${POLICY}`,
    'fine.yaml': `vendor: fine\nupstream: ${json.url}\n${POLICY}`,
    'text.yaml': `vendor: text\nupstream: ${json.url}\n${POLICY}`,
    'big.yaml': `vendor: big\nupstream: ${json.url}\n${POLICY}`,
    'stream.yaml': `vendor: stream\nupstream: ${streaming.url}\n${POLICY}`,
    'nested.yaml': `vendor: nested\nupstream: ${json.url}\n${POLICY.replace('path: success, equals: false', 'path: result.status, equals: "error"')}`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await json.close()
  await streaming.close()
})

async function getRaw (vendor: string): Promise<{ status: number, error: unknown, bytes: Buffer }> {
  const res = await request(`${sluice.url}/${vendor}/x`)
  return { status: res.statusCode, error: res.headers['x-sluice-error'], bytes: Buffer.from(await res.body.arrayBuffer()) }
}

async function untilState (vendor: string, want: number): Promise<void> {
  const end = Date.now() + 3000
  while (await metricValue(sluice.adminUrl, 'sluice_circuit_state', { vendor }) !== want) {
    if (Date.now() > end) throw new Error(`circuit of ${vendor} never reached ${want}`)
    await sleep(20)
  }
}

function bodyRuleErrors (vendor: string): Promise<number | undefined> {
  return metricValue(sluice.adminUrl, 'sluice_upstream_errors_total', { vendor, kind: 'body_rule' })
}

describe('a 200 whose JSON body matches bodyRule', () => {
  it('reaches the client byte for byte, counts as a failure, and opens the breaker after enough of them', async () => {
    body = FAILED
    contentType = 'application/json; charset=utf-8'
    json.seen.length = 0
    for (let i = 0; i < 5; i++) {
      const r = await getRaw('rule')
      expect(r.status).toBe(200)
      expect(r.error).toBeUndefined()
      expect(r.bytes.equals(Buffer.from(FAILED))).toBe(true)
    }
    await untilState('rule', 2)
    expect(await bodyRuleErrors('rule')).toBe(5)
    const refused = await getRaw('rule')
    expect(refused).toMatchObject({ status: 503, error: 'circuit_open' })
    expect(json.seen).toHaveLength(5)
  })

  it('a body that does not match ({"success": true}) counts as a success', async () => {
    body = '{"success": true}'
    contentType = 'application/json'
    for (let i = 0; i < 6; i++) expect((await getRaw('fine')).status).toBe(200)
    expect(await metricValue(sluice.adminUrl, 'sluice_circuit_state', { vendor: 'fine' })).toBe(0)
    expect(await bodyRuleErrors('fine')).toBeUndefined()
  })

  it('a dotted path and a string value match too', async () => {
    body = '{"result": {"status": "error"}}'
    contentType = 'application/vnd.api+json'
    for (let i = 0; i < 5; i++) await getRaw('nested')
    await untilState('nested', 2)
    expect(await bodyRuleErrors('nested')).toBe(5)
  })

  it('a non-JSON response is not read: text that looks like a failure does not count', async () => {
    body = '{"success": false}'
    contentType = 'text/plain'
    for (let i = 0; i < 6; i++) {
      const r = await getRaw('text')
      expect(r.bytes.toString()).toBe(body)
    }
    expect(await metricValue(sluice.adminUrl, 'sluice_circuit_state', { vendor: 'text' })).toBe(0)
    expect(await bodyRuleErrors('text')).toBeUndefined()
  })

  it('a JSON body too large to judge passes whole and does not count', async () => {
    const filler = randomBytes(100 * 1024).toString('hex')
    body = `{"success": false, "filler": "${filler}"}`
    contentType = 'application/json'
    for (let i = 0; i < 6; i++) {
      const r = await getRaw('big')
      expect(r.bytes.equals(Buffer.from(body))).toBe(true)
    }
    expect(await metricValue(sluice.adminUrl, 'sluice_circuit_state', { vendor: 'big' })).toBe(0)
    expect(await bodyRuleErrors('big')).toBeUndefined()
  })

  it('a streaming JSON response still reaches the client chunk by chunk, and is judged at its end', async () => {
    const res = await request(`${sluice.url}/stream/x`)
    expect(res.statusCode).toBe(200)
    const it = res.body[Symbol.asyncIterator]()
    // The first half arrives while the upstream still holds the rest back.
    const first = await it.next()
    expect(Buffer.from(first.value as Buffer).toString()).toBe('{"success": false, "items": [')
    releaseStream()
    let rest = ''
    for (let r = await it.next(); r.done !== true; r = await it.next()) rest += Buffer.from(r.value as Buffer).toString()
    expect(rest).toBe('1]}')
    const end = Date.now() + 2000
    while (await bodyRuleErrors('stream') !== 1 && Date.now() < end) await sleep(20)
    expect(await bodyRuleErrors('stream')).toBe(1)
  })
})
