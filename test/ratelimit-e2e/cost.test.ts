// Costs through a real sluice, in memory and in a real Redis: the estimate is
// read from the request body (max_tokens, else the default), reserved before
// the call, and settled from the response (usage.total_tokens of a JSON body,
// or of the last server-sent event carrying it); a streamed answer reaches the
// client while it streams; an estimate over capacity is refused as such.
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines, type TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, rateLimitedPolicy, startStoreSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

// 10,000 tokens, refilling so slowly that counts are exact.
const TOKENS = `
buckets:
  - name: tokens
    capacity: 10000
    refill: 10000/day
    onLimit: reject
    cost:
      request: json:max_tokens
      default: 2000
      response: json:usage.total_tokens
`

/** The upstream answers what the request's `actual` field says it cost, as JSON or as a stream of events. */
function answer (res: import('node:http').ServerResponse, body: Buffer, releaseRest: Promise<void>): void {
  const req = JSON.parse(body.toString('utf8') || '{}') as { actual?: number, stream?: boolean }
  if (req.stream !== true) {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(req.actual === undefined ? { id: 'x' } : { id: 'x', usage: { total_tokens: req.actual } }))
    return
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.write('data: {"choices":[{"delta":{"content":"Hel"}}],"usage":null}\n\n')
  releaseRest.then(() => {
    res.write('data: {"choices":[{"delta":{"content":"lo"}}],"usage":null}\n\n')
    // The usage event, split across two writes.
    res.write('data: {"choices":[],"usage":{"prompt_tokens":1,"total_')
    res.write(`tokens":${req.actual ?? 0}}}\n\n`)
    res.end('data: [DONE]\n\n')
  }, () => {})
}

describe.each(STORES)('costs with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let s: TestSluice
  let release: () => void = () => {}
  let released: Promise<void> = Promise.resolve()
  let seq = 0

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream((_req, res, body) => answer(res, body, released))
    const files: Record<string, string> = {}
    for (const v of ['admit', 'settle', 'stream', 'huge', 'absent']) files[`${v}.yaml`] = rateLimitedPolicy(v, up.url, TOKENS)
    s = await startStoreSluice(files, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await up?.close()
    await redis?.stop()
  })

  async function post (vendor: string, body: object): Promise<{ status: number, headers: Record<string, unknown>, text: string }> {
    const res = await request(`${s.url}/${vendor}/v1/chat/completions?n=${++seq}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
  }

  it('admits three 3,000-token estimates out of 10,000', async () => {
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await post('admit', { max_tokens: 3000, actual: 3000 })).status)
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('gives back what the response says was not used', async () => {
    // Each call reserves 3,000 and settles at 500: 2,500 back each time.
    for (let i = 0; i < 3; i++) expect((await post('settle', { max_tokens: 3000, actual: 500 })).status).toBe(200)
    // 8,500 left: two calls of 3,000 (settled at 3,000), then 2,500 is too little.
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await post('settle', { max_tokens: 3000, actual: 3000 })).status)
    expect(statuses).toEqual([200, 200, 429])
    const line = requestLines(s).filter(l => l.vendor === 'settle').at(-1)
    expect(line).toMatchObject({ status: 429, error: 'rate_limited' })
  })

  it('settles a streamed answer from its last usage event, without holding the stream back', async () => {
    released = new Promise<void>(resolve => { release = resolve })
    const res = await request(`${s.url}/stream/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_tokens: 3000, actual: 400, stream: true }),
    })
    expect(res.headers['content-type']).toBe('text/event-stream')
    // The first event arrives while the upstream still holds the rest back.
    const reader = res.body[Symbol.asyncIterator]()
    const first = await reader.next()
    expect(Buffer.from(first.value as Buffer).toString()).toContain('Hel')
    release()
    let rest = ''
    for (let r = await reader.next(); r.done !== true; r = await reader.next()) rest += Buffer.from(r.value as Buffer).toString()
    expect(rest).toContain('[DONE]')
    await eventually(() => requestLines(s).some(l => l.vendor === 'stream'), { timeout: 10_000, what: 'the streamed call to end' })
    // 10,000 - 400 = 9,600 left: three calls of 3,000 (settled at 3,000), then 600 is too little.
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await post('stream', { max_tokens: 3000, actual: 3000 })).status)
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('refuses an estimate over the capacity, saying it can never be admitted, without Retry-After', async () => {
    const r = await post('huge', { max_tokens: 20_000, actual: 1 })
    expect(r.status).toBe(429)
    expect(r.headers['retry-after']).toBeUndefined()
    const body = JSON.parse(r.text) as { error: string, message: string }
    expect(body.error).toBe('rate_limited')
    expect(body.message).toMatch(/20000 is over the capacity .*tokens.*10000.*never/)
    expect(up.seen.some(q => q.url.startsWith('/v1/chat/completions') && q.body.toString().includes('20000'))).toBe(false)
  })

  it('reserves the default when the request carries no estimate, and keeps it when the response carries no cost', async () => {
    // 2,000 each, nothing settled: five calls, then none.
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push((await post('absent', {})).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
  })
})
