// An upstream answer node cannot relay (a status text with a control
// character) becomes sluice's 502, never a silent reset of the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:net'
import { request } from 'undici'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

let raw: Server
let sluice: TestSluice

beforeAll(async () => {
  raw = createServer(socket => {
    socket.once('data', () => {
      socket.end('HTTP/1.1 200 O\x01K\r\ncontent-length: 2\r\n\r\nok')
    })
  })
  await new Promise<void>(resolve => raw.listen(0, '127.0.0.1', resolve))
  const port = (raw.address() as { port: number }).port
  sluice = await startTestSluice({ 'v.yaml': `vendor: v\nupstream: http://127.0.0.1:${port}\nretry:\n  attempts: 1\n` })
})
afterAll(async () => {
  await sluice.stop()
  await new Promise<void>(resolve => raw.close(() => resolve()))
})

describe('an answer node cannot relay', () => {
  it('is answered 502 upstream_unreachable', async () => {
    const res = await request(`${sluice.url}/v/x`)
    expect(res.statusCode).toBe(502)
    expect(res.headers['x-sluice-error']).toBe('upstream_unreachable')
    await res.body.dump()
  })
})
