// Reading a call's actual cost from its response as the chunks go by: a JSON
// body (compressed or not, bounded), the last server-sent event carrying the
// path (events split anywhere across chunks, CRLF lines, an oversized event
// skipped), or a header; and the estimate from the request.
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CostTap, MAX_COST_BODY_BYTES, MAX_COST_EVENT_BYTES, compileCostPlan, estimateCosts } from '../../src/ratelimit/cost.js'
import { policy } from './policy.js'

const p = policy({
  buckets: [
    { name: 'requests', capacity: 100, perSecond: 1 },
    { name: 'tokens', capacity: 100_000, perSecond: 1000, cost: { request: 'json:max_tokens', default: 50, response: 'json:usage.total_tokens' } },
    { name: 'units', capacity: 100_000, perSecond: 1000, cost: { request: 'header:x-units', response: 'header:x-used-units' } },
  ],
})
const plan = compileCostPlan(p)!

function tap (headers: Record<string, string>, chunks: Array<string | Buffer>): ReadonlyArray<number | undefined> {
  const t = new CostTap(plan, (name) => headers[name])
  for (const c of chunks) t.push(typeof c === 'string' ? Buffer.from(c) : c)
  return t.result()
}

describe('the estimate', () => {
  it('reads the body path, the header, else the default; 1 for a bucket without a cost', () => {
    expect(estimateCosts(plan, (n) => n === 'x-units' ? '7' : undefined, Buffer.from('{"max_tokens":300}'))).toEqual([1, 300, 7])
    expect(estimateCosts(plan, () => undefined, Buffer.from('not json'))).toEqual([1, 50, 1])
    expect(estimateCosts(plan, () => '-3', undefined)).toEqual([1, 50, 1])
  })
})

describe('the actual cost', () => {
  it('comes from a JSON body, compressed or not, and from a header', () => {
    const body = '{"usage":{"total_tokens":420}}'
    expect(tap({ 'content-type': 'application/json', 'x-used-units': '9' }, [body.slice(0, 10), body.slice(10)])).toEqual([undefined, 420, 9])
    expect(tap({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, [gzipSync(body)])).toEqual([undefined, 420, undefined])
  })

  it('stands at the estimate when the JSON body is over the bound', () => {
    const pad = 'x'.repeat(MAX_COST_BODY_BYTES)
    expect(tap({ 'content-type': 'application/json' }, [`{"pad":"${pad}",`, '"usage":{"total_tokens":1}}'])[1]).toBeUndefined()
  })

  it('comes from the last event carrying the path, split anywhere across chunks', () => {
    const stream = 'data: {"usage":null}\r\n\r\ndata: {"usage":{"total_tokens":5}}\n\ndata: {"choices":[]}\n\ndata: {"usage":{"total_tokens":77}}\n\ndata: [DONE]\n\n'
    for (let cut = 1; cut < stream.length; cut += 7) {
      expect(tap({ 'content-type': 'text/event-stream' }, [stream.slice(0, cut), stream.slice(cut)])[1]).toBe(77)
    }
    // The stream ends without a final blank line: its last event still counts.
    expect(tap({ 'content-type': 'text/event-stream; charset=utf-8' }, ['data: {"usage":{"total_tokens":3}}'])[1]).toBe(3)
  })

  it('skips an event over the bound, keeping the one before', () => {
    const big = `data: {"usage":{"total_tokens":999},"pad":"${'y'.repeat(MAX_COST_EVENT_BYTES)}"}\n\n`
    expect(tap({ 'content-type': 'text/event-stream' }, ['data: {"usage":{"total_tokens":12}}\n\n', big])[1]).toBe(12)
  })
})
