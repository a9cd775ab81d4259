// CONNECT (any client with HTTPS_PROXY pointed at sluice) is refused 403
// not_allowed in sluice's format, counted and logged, and no client hanging
// up or resetting around it can take the process down. Runs the real process:
// a crash there is a crash, not a failed assertion in a shared test worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { request } from 'undici'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'
import { rawRequest } from '../helpers/raw.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let cli: CliProcess
let proxy: string
let admin: string

beforeAll(async () => {
  const dir = await policyDir({ 'stripe.yaml': 'vendor: stripe\nupstream: http://127.0.0.1:9\nroutes:\n  hosts: [api.stripe.com]\n' })
  cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'])
  ;({ proxy, admin } = await cli.listening)
})
afterAll(async () => {
  cli.child.kill('SIGTERM')
  await cli.exited
})

/** Sends `text`, then resets the connection at once, without reading the answer. */
function connectAndReset (text: string): Promise<void> {
  const url = new URL(proxy)
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(text, () => {
        socket.resetAndDestroy()
        resolve()
      })
    })
    socket.on('error', () => resolve())
  })
}

describe('CONNECT', () => {
  it('is refused 403 not_allowed with the JSON body, x-sluice-error and x-request-id', async () => {
    const res = await rawRequest(proxy, 'CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\nx-request-id: connect-1\r\n\r\n')
    expect(res.status).toBe(403)
    expect(res.headers['x-sluice-error']).toBe('not_allowed')
    expect(res.headers['x-request-id']).toBe('connect-1')
    expect(JSON.parse(res.body)).toMatchObject({ error: 'not_allowed', vendor: 'stripe', requestId: 'connect-1' })
  })

  it('survives clients that reset the connection around the refusal', async () => {
    for (let i = 0; i < 20; i++) await connectAndReset('CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\n\r\n')
    // a TLS hello sent before the answer was read, then a reset
    for (let i = 0; i < 5; i++) await connectAndReset('CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
    const res = await rawRequest(proxy, 'CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n')
    expect(res.status).toBe(403)
    expect((await request(`${admin}/healthz`)).statusCode).toBe(200)
    expect(cli.child.exitCode).toBe(null)
    expect(cli.stderr()).not.toMatch(/Unhandled 'error' event/)
  })

  it('is counted in sluice_requests_total and has a request log line', async () => {
    const before = await metricValue(admin, 'sluice_requests_total', { vendor: 'none', method: 'CONNECT', status: '403' }) ?? 0
    const res = await rawRequest(proxy, 'CONNECT elsewhere.test:443 HTTP/1.1\r\nHost: elsewhere.test:443\r\nx-request-id: connect-2\r\n\r\n')
    expect(res.status).toBe(403)
    expect(await metricValue(admin, 'sluice_requests_total', { vendor: 'none', method: 'CONNECT', status: '403' })).toBe(before + 1)
    await eventually(() => cli.stdout.some(l => l.includes('"reqId":"connect-2"')), { timeout: 5000 })
    const line = JSON.parse(cli.stdout.find(l => l.includes('"reqId":"connect-2"')) as string) as Record<string, unknown>
    expect(line).toMatchObject({ msg: 'request', method: 'CONNECT', path: 'elsewhere.test:443', status: 403, error: 'not_allowed' })
  })
})
