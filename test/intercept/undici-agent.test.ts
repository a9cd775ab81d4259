// Node's undici EnvHttpProxyAgent, as an application would configure it from
// HTTPS_PROXY, trusting the interception CA: calls to the vendor's public URL
// go through sluice's policy, several on one tunnel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { EnvHttpProxyAgent, request } from 'undici'
import { requestLines } from '../helpers/sluice.js'
import { startInterception, type Interception } from './harness.js'
import { eventually } from '../helpers/wait.js'
import { metricValue } from '../helpers/metrics.js'

let ix: Interception
let agent: EnvHttpProxyAgent

beforeAll(async () => {
  process.env.IX_AGENT_KEY = 'sk_agent_from_sluice'
  ix = await startInterception('api.agent.test', { inject: 'inject:\n  headers:\n    Authorization: "Bearer ${env:IX_AGENT_KEY}"\n' })
  agent = new EnvHttpProxyAgent({ httpsProxy: ix.sluice.url, noProxy: '', requestTls: { ca: await readFile(ix.interceptCa.caFile, 'utf8') } })
})
afterAll(async () => {
  await agent?.close()
  await ix?.close()
})

describe('EnvHttpProxyAgent through sluice', () => {
  it('reaches the vendor through its policy, on one tunnel for several calls', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await request(`https://api.agent.test/v1/things/${i}`, { dispatcher: agent, headers: { 'x-request-id': `agent-${i}` } })
      expect(res.statusCode).toBe(200)

      expect(await res.body.json()).toMatchObject({ path: `/v1/things/${i}`, authorization: 'Bearer sk_agent_from_sluice' })
    }
    await eventually(() => requestLines(ix.sluice).filter(l => String(l.reqId).startsWith('agent-')).length === 6)
    expect(requestLines(ix.sluice).filter(l => String(l.reqId).startsWith('agent-')).map(l => l.vendor)).toEqual(Array(6).fill('acme'))
    // tunnels are kept alive and reused (undici may open a second one at the start)
    const tunnels = await metricValue(ix.sluice.adminUrl, 'sluice_tunnels_total', { vendor: 'acme', result: 'intercepted' }) ?? 0
    expect(tunnels).toBeGreaterThan(0)
    expect(tunnels).toBeLessThan(6)
  })
})
