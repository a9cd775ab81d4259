// Bodies stream both ways (SPEC section 2): an upload arrives byte-identical,
// a server-sent-events response reaches the client chunk by chunk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'undici'
import { Readable } from 'node:stream'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

let up: Upstream
let sse: Upstream
let sluice: TestSluice
let releaseSecond: () => void = () => {}

beforeAll(async () => {
  up = await startUpstream((req, res, body) => {
    res.setHeader('content-type', 'application/octet-stream')
    res.setHeader('x-sha', createHash('sha256').update(body).digest('hex'))
    res.end(body)
  })
  sse = await startUpstream(undefined, {
    streaming: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('data: first\n\n')
      releaseSecond = () => { res.end('data: second\n\n') }
    },
  })
  sluice = await startTestSluice({
    'files.yaml': `vendor: files\nupstream: ${up.url}\nlimits:\n  body: 10mb\nretry:\n  maxBufferedBody: 64kb\n`,
    'sse.yaml': `vendor: sse\nupstream: ${sse.url}\n`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
  await sse.close()
})

describe('request bodies', () => {
  it('a 1 MB upload (over the replay buffer: streamed) arrives byte-identical, and comes back so', async () => {
    const body = randomBytes(1024 * 1024)
    const res = await request(`${sluice.url}/files/upload`, { method: 'POST', body })
    expect(res.statusCode).toBe(200)
    const echoed = Buffer.from(await res.body.arrayBuffer())
    expect(res.headers['x-sha']).toBe(createHash('sha256').update(body).digest('hex'))
    expect(echoed.equals(body)).toBe(true)
  })

  it('a chunked upload of unknown length arrives byte-identical', async () => {
    const parts = [randomBytes(40_000), randomBytes(40_000), randomBytes(100)]
    async function * gen () { for (const p of parts) yield p }
    const res = await request(`${sluice.url}/files/chunked`, { method: 'PUT', body: Readable.from(gen()) })
    const all = Buffer.concat(parts)
    expect(res.headers['x-sha']).toBe(createHash('sha256').update(all).digest('hex'))
    await res.body.dump()
  })

  it('a small body (buffered for replay) arrives byte-identical', async () => {
    const body = randomBytes(1000)
    const res = await request(`${sluice.url}/files/small`, { method: 'PUT', body })
    expect(Buffer.from(await res.body.arrayBuffer()).equals(body)).toBe(true)
  })
})

describe('response streaming', () => {
  it('delivers the first server-sent event before the upstream has sent the second', async () => {
    const res = await request(`${sluice.url}/sse/stream`)
    expect(res.headers['content-type']).toBe('text/event-stream')
    const it = res.body[Symbol.asyncIterator]()
    const first = await it.next()
    expect(Buffer.from(first.value as Uint8Array).toString()).toBe('data: first\n\n')
    releaseSecond()
    let rest = ''
    for (let n = await it.next(); n.done !== true; n = await it.next()) rest += Buffer.from(n.value as Uint8Array).toString()
    expect(rest).toBe('data: second\n\n')
  })
})
