// The OTLP encoding follows OTEL_EXPORTER_OTLP_PROTOCOL: by default
// http/protobuf (the OpenTelemetry default) to <endpoint>/v1/traces; an
// encoding sluice cannot send (grpc) stops it at start with a clear message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { policyDir, runCli } from '../helpers/sluice.js'
import { eventually, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js'

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

describe('OTEL_EXPORTER_OTLP_PROTOCOL', () => {
  it('unset: spans go out as protobuf', async () => {
    const trace = '7'.repeat(32)
    const cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '20' })
    const { proxy } = await cli.listening
    await (await request(`${proxy}/v/ping`, { headers: { traceparent: `00-${trace}-${'3'.repeat(16)}-01` } })).body.text()
    await eventually(() => receiver.bodies.length > 0)
    cli.child.kill('SIGTERM')
    await cli.exited
    expect(receiver.contentTypes[0]).toBe('application/x-protobuf')
    // the trace id's 16 bytes, as protobuf carries them
    expect(Buffer.concat(receiver.raw).includes(Buffer.from(trace, 'hex'))).toBe(true)
    expect(receiver.spans).toEqual([])
  })

  it('grpc: sluice refuses to start and says which variable', async () => {
    const cli = runCli(['start', '--policies', dir, '--port', '0', '--admin-port', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })
    expect(await cli.exited).not.toBe(0)
    expect(cli.stderr() + cli.stdout.join('\n')).toContain('OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported')
  })
})
