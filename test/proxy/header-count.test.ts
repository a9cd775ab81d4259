// Request headers over the count limit are 431 headers_too_large and nothing
// is forwarded. node itself keeps only the first 2000 header lines and drops
// the rest silently; a Content-Length among them would turn the body into an
// empty one. Up to the limit, every header reaches the vendor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'
import { MAX_HEADER_LINES } from '../../src/pipeline/route.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  up = await startUpstream((_req, res, body) => res.end(`got ${body.length} bytes`))
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
})

/** A POST with `filler` extra header lines, Content-Length last of all; `short` lines keep the head under 16 KB. */
function post (filler: number, short = false): string {
  const lines = ['POST /v/upload HTTP/1.1', 'Host: localhost', 'Connection: close']
  for (let i = 0; i < filler; i++) lines.push(short ? 'a:1' : `x-h${i}: ${i}`)
  lines.push('Content-Length: 5', '', 'hello')
  return lines.join('\r\n')
}

describe('the request header count limit', () => {
  it('forwards a request with as many header lines as the limit, every one of them and its body', async () => {
    const res = await rawRequest(sluice.url, post(MAX_HEADER_LINES - 3))
    expect(res.status).toBe(200)
    expect(res.body).toBe('got 5 bytes')
    expect(up.seen.at(-1)?.headers[`x-h${MAX_HEADER_LINES - 4}`]).toBe(String(MAX_HEADER_LINES - 4))
  })

  it('answers one line more 431 headers_too_large, forwarding nothing', async () => {
    const seen = up.seen.length
    const res = await rawRequest(sluice.url, post(MAX_HEADER_LINES - 2))
    expect(res.status).toBe(431)
    expect(res.headers['x-sluice-error']).toBe('headers_too_large')
    expect(JSON.parse(res.body)).toMatchObject({ error: 'headers_too_large', vendor: null })
    expect(up.seen.length).toBe(seen)
  })

  it('answers 431 past node\'s own count, where a Content-Length would be dropped', async () => {
    const seen = up.seen.length
    const res = await rawRequest(sluice.url, post(2100, true))
    expect(res.status).toBe(431)
    expect(up.seen.length).toBe(seen)
  })
})
