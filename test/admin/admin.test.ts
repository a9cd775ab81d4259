// The admin listener (SPEC section 7).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'

let up: Upstream
let sluice: TestSluice

beforeAll(async () => {
  process.env.V_ADMIN_TEST_KEY = 'sk_live_admintestsecret1234567890'
  up = await startUpstream((req, res) => {
    if (req.url === '/boom') { res.statusCode = 500; res.end('no') } else if (req.url === '/empty') { res.statusCode = 204; res.end() } else res.end('ok')
  })
  sluice = await startTestSluice({
    'v.yaml': `vendor: v
upstream: ${up.url}
retry:
  attempts: 1
inject:
  headers:
    Authorization: "Bearer \${env:V_ADMIN_TEST_KEY}"
`,
  })
})
afterAll(async () => {
  await sluice.stop()
  await up.close()
  delete process.env.V_ADMIN_TEST_KEY
})

describe('admin listener', () => {
  it('GET /healthz is 200 while serving', async () => {
    const res = await request(`${sluice.adminUrl}/healthz`)
    expect(res.statusCode).toBe(200)
    await res.body.dump()
  })

  it('GET /readyz is 200 with policies loaded and no Redis configured', async () => {
    const res = await request(`${sluice.adminUrl}/readyz`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toMatchObject({ status: 'ready', vendors: 1 })
  })

  it('GET /metrics counts calls by vendor, method and status, with durations and upstream errors', async () => {
    await (await request(`${sluice.url}/v/ok`)).body.dump()
    await (await request(`${sluice.url}/v/boom`)).body.dump()
    await (await request(`${sluice.url}/nowhere`)).body.dump()
    const res = await request(`${sluice.adminUrl}/metrics`)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    const text = await res.body.text()
    expect(text).toMatch(/sluice_requests_total\{vendor="v",method="GET",status="200"\} [1-9]/)
    expect(text).toMatch(/sluice_requests_total\{vendor="v",method="GET",status="500"\} 1/)
    expect(text).toMatch(/sluice_requests_total\{vendor="none",method="GET",status="404"\} 1/)
    expect(text).toMatch(/sluice_request_duration_seconds_count\{vendor="v"\} [1-9]/)
    expect(text).toMatch(/sluice_upstream_duration_seconds_count\{vendor="v"\} [1-9]/)
    expect(text).toMatch(/sluice_upstream_errors_total\{vendor="v",kind="5xx"\} 1/)
    expect(text).toContain('sluice_policy_reloads_total{result="failure"} 0')
    expect(text).toContain('sluice_circuit_state{vendor="v"} 0')
    expect(text).not.toContain('sk_live_admintestsecret')
  })

  it('GET /metrics counts every call once, however the reads and the calls interleave', async () => {
    const read = async (): Promise<{ calls: number, observed: number }> => {
      const text = await (await request(`${sluice.adminUrl}/metrics`)).body.text()
      const calls = /sluice_requests_total\{vendor="v",method="GET",status="204"\} (\d+)/.exec(text)?.[1]
      const observed = /sluice_request_duration_seconds_count\{vendor="v"\} (\d+)/.exec(text)?.[1]
      return { calls: Number(calls ?? 0), observed: Number(observed) }
    }
    const call = async (): Promise<void> => { await (await request(`${sluice.url}/v/empty`)).body.dump() }
    const before = await read()
    for (let i = 0; i < 3; i++) await call()
    const first = await read()
    expect(first.calls).toBe(before.calls + 3)
    expect(first.observed).toBe(before.observed + 3)
    expect((await read()).calls).toBe(first.calls) // a read adds nothing by itself
    for (let i = 0; i < 2; i++) await call()
    const second = await read()
    expect(second.calls).toBe(first.calls + 2)
    expect(second.observed).toBe(first.observed + 2)
  })

  it('GET /policies shows the effective policies with secrets masked', async () => {
    const res = await request(`${sluice.adminUrl}/policies`)
    const text = await res.body.text()
    const body = JSON.parse(text) as { vendors: Array<{ vendor: string }> }
    expect(body.vendors.map(v => v.vendor)).toEqual(['v'])
    expect(text).toContain('${env:V_ADMIN_TEST_KEY}')
    expect(text).not.toContain('sk_live_admintestsecret')
  })
})
