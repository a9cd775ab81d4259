// Tracing off (no OTLP endpoint, or the SDK disabled): the client's
// traceparent and tracestate reach the vendor unchanged, the log line has no
// traceId, and nothing is exported, not even when sluice drains.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { policyDir, runCli, type CliProcess } from '../helpers/sluice.js'
import { eventually, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js'

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'

let receiver: OtlpReceiver
let up: Upstream
let dir: string

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  up = await startUpstream()
  dir = await policyDir({ 'v.yaml': `vendor: v\nupstream: ${up.url}\n` })
})
afterAll(async () => {
  await up.close()
  await receiver.close()
})

describe.each([
  { name: 'no OTLP endpoint set', env: (): Record<string, string> => ({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'x' }) },
  { name: 'OTEL_SDK_DISABLED=true', env: (): Record<string, string> => ({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_SDK_DISABLED: 'true' }) },
])('$name', ({ name, env }) => {
  let cli: CliProcess
  let proxy: string

  beforeAll(async () => {
    cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], env())
    ;({ proxy } = await cli.listening)
  })

  it('passes the client\'s traceparent and tracestate to the vendor unchanged, and logs no traceId', async () => {
    const res = await request(`${proxy}/v/ping`, { headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE, 'x-case': name } })
    expect(res.statusCode).toBe(200)
    await res.body.text()
    const seen = up.seen.filter(s => s.headers['x-case'] === name)
    expect(seen).toHaveLength(1)
    expect(seen[0]?.headers.traceparent).toBe(TRACEPARENT)
    expect(seen[0]?.headers.tracestate).toBe(TRACESTATE)
    await eventually(() => cli.stdout.some(l => l.includes('"msg":"request"')))
    const line = JSON.parse(cli.stdout.find(l => l.includes('"msg":"request"')) as string) as Record<string, unknown>
    expect(line).not.toHaveProperty('traceId')
  })

  it('exports nothing, even when it drains', async () => {
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    expect(receiver.bodies).toEqual([])
  })
})
