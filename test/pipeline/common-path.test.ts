// The common path allocates no promise: a call that waits for nothing (a
// token from an in-memory bucket, credentials at hand, no body) runs from the
// listener to the vendor and back in callbacks. Counted with async_hooks over
// one real call through a real in-process sluice, from a raw socket client to
// a callback-only upstream, so no promise of the test's own is in the count.
import { createHook } from 'node:async_hooks'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

const SRC = new URL('../../src/', import.meta.url).pathname

let upstream: Server
let s: TestSluice

beforeAll(async () => {
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' })
    res.end('{"ok":true}')
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  process.env.SLUICE_TEST_COMMON_PATH_KEY = 'sk_test_common'
  s = await startTestSluice({
    'acme.yaml': `vendor: acme
upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
rateLimit:
  buckets:
    - name: all
      capacity: 1000
      refill: 1000/s
circuitBreaker:
  enabled: true
inject:
  headers:
    Authorization: "Bearer \${env:SLUICE_TEST_COMMON_PATH_KEY}"
`,
  })
})

afterAll(async () => {
  await s.stop()
  await new Promise(resolve => upstream.close(resolve))
  delete process.env.SLUICE_TEST_COMMON_PATH_KEY
})

/** One GET on a kept-alive socket; resolves with the raw answer once its body (11 bytes) is in. */
function get (socket: Socket, onAnswer: (text: string) => void): void {
  let text = ''
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('latin1')
    if (text.includes('\r\n\r\n') && text.endsWith('{"ok":true}')) {
      socket.off('data', onData)
      onAnswer(text)
    }
  }
  socket.on('data', onData)
  socket.write('GET /acme/v1/thing HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n')
}

describe('the common path', () => {
  it('creates no promise for a call that waits for nothing', async () => {
    const port = Number(new URL(s.url).port)
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>(resolve => socket.once('connect', resolve))
    // Warm up: the first call opens the upstream connection and resolves the credential.
    await new Promise<string>(resolve => { get(socket, resolve) })

    let promises = 0
    const stacks: string[] = []
    const hook = createHook({
      init (_id, type) {
        if (type !== 'PROMISE') return
        // only sluice's own: the test runner's worker messages make promises too
        const stack = new Error('a promise').stack ?? ''
        if (!stack.includes(SRC)) return
        promises++
        stacks.push(stack)
      },
    })
    // The hook is on only from the request's write to its answer: the test's
    // own await happened before.
    const answer = await new Promise<string>(resolve => {
      setImmediate(() => {
        hook.enable()
        get(socket, (text) => {
          hook.disable()
          resolve(text)
        })
      })
    })
    socket.destroy()

    expect(answer.startsWith('HTTP/1.1 200')).toBe(true)
    expect(stacks.join('\n\n')).toBe('') // where any came from
    expect(promises).toBe(0)
  })
})
