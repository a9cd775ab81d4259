// The official openai SDK, unchanged (default base URL), through HTTPS_PROXY:
// sluice intercepts api.openai.com, injects its own key in place of the app's
// placeholder, and forwards to a local HTTPS stand-in for OpenAI. A plain and
// a streamed completion both come back to the SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import type { ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startTestSluice, requestLines, type TestSluice } from '../helpers/sluice.js'
import { makePki, type TestCa, type TestPki } from '../helpers/tls.js'
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js'
import { eventually } from '../helpers/wait.js'

const execFileP = promisify(execFile)
const APP = fileURLToPath(new URL('./openai-sdk.mjs', import.meta.url))

let pki: TestPki
let interceptCa: TestCa
let openai: HttpsUpstream
let sluice: TestSluice

const completion = (content: string): string => JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-test',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
})
const chunk = (content: string): string => `data: ${JSON.stringify({
  id: 'chatcmpl-2',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-test',
  choices: [{ index: 0, finish_reason: null, delta: { content } }],
})}\n\n`

beforeAll(async () => {
  process.env.IX_OPENAI_KEY = 'sk-real-key-held-by-sluice'
  pki = await makePki()
  interceptCa = await pki.ca('intercept')
  const vendorCa = await pki.ca('vendor')
  openai = await startHttpsUpstream((_req, r, body) => {
    const res = r as ServerResponse
    const ask = JSON.parse(body.toString()) as { stream?: boolean }
    if (ask.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(chunk('str') + chunk('eamed') + 'data: [DONE]\n\n')
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(completion('hi from the stand-in'))
  }, await vendorCa.issue('openai-stand-in'))
  sluice = await startTestSluice({
    'openai.yaml': `vendor: openai\nupstream: ${openai.url}\nroutes:\n  hosts: [api.openai.com]\n` +
      `tls:\n  ca: "\${file:${vendorCa.caFile}}"\ninject:\n  headers:\n    Authorization: "Bearer \${env:IX_OPENAI_KEY}"\n`,
  }, { env: { SLUICE_INTERCEPT_CA_CERT: interceptCa.caFile, SLUICE_INTERCEPT_CA_KEY: interceptCa.keyFile } })
})
afterAll(async () => {
  await sluice?.stop()
  await openai?.close()
  await pki?.remove()
})

describe('the openai SDK through HTTPS_PROXY', () => {
  it('is intercepted, its key replaced by sluice\'s, and its answers returned', async () => {
    const { stdout } = await execFileP(process.execPath, [APP], {
      env: { PATH: process.env.PATH, HTTPS_PROXY: sluice.url, NODE_EXTRA_CA_CERTS: interceptCa.caFile },
      timeout: 30_000,
    })
    expect(JSON.parse(stdout)).toEqual({ baseURL: 'https://api.openai.com/v1', content: 'hi from the stand-in', streamed: 'streamed' })
    expect(openai.seen.map(s => `${s.method} ${s.url} ${String(s.headers.authorization)}`)).toEqual([
      'POST /v1/chat/completions Bearer sk-real-key-held-by-sluice',
      'POST /v1/chat/completions Bearer sk-real-key-held-by-sluice',
    ])
    await eventually(() => requestLines(sluice).length >= 2)
    expect(requestLines(sluice).map(l => [l.vendor, l.path, l.status])).toEqual([
      ['openai', '/v1/chat/completions', 200],
      ['openai', '/v1/chat/completions', 200],
    ])
  })
})
