#!/usr/bin/env node
// npm run demo: sluice in front of a stand-in vendor on this machine, so a first
// run shows, in a few seconds and with no account anywhere, what sluice does
// to real calls: the credential injected, a retry, a scrubbed log line and a
// rate-limit refusal. Starts both, makes five calls, prints what happened, stops.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const POLICY = new URL('../demo/policies/demo.yaml', import.meta.url)
// Made up for the demo: sluice injects it, the application never sees it, no log shows it.
const DEMO_KEY = 'demo-secret-key-0123456789'
const say = (text) => process.stdout.write(text + '\n')

// The stand-in vendor: checks the injected key, fails /v1/flaky once, echoes JSON.
let flakyCalls = 0
const vendor = createServer((req, res) => {
  let body = ''
  req.on('data', c => { body += c })
  req.on('end', () => {
    const authorized = req.headers.authorization === `Bearer ${DEMO_KEY}`
    res.setHeader('content-type', 'application/json')
    if (req.url === '/v1/flaky' && flakyCalls++ === 0) {
      res.statusCode = 503
      return res.end('{"error":"try again"}')
    }
    if (req.method === 'POST') {
      res.statusCode = 201
      return res.end(JSON.stringify({ id: 'usr_1', email: JSON.parse(body || '{}').email, authorized }))
    }
    res.end(JSON.stringify({ path: req.url, authorized }))
  })
})
await new Promise(resolve => vendor.listen(0, '127.0.0.1', resolve))
const vendorUrl = `http://127.0.0.1:${vendor.address().port}`

const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'))
writeFileSync(join(dir, 'demo.yaml'), readFileSync(POLICY, 'utf8').replace('http://127.0.0.1:3999', vendorUrl))

const sluice = spawn(process.execPath, [CLI, 'start', '--policies', dir, '--port', '0', '--admin-port', '0'], {
  env: { PATH: process.env.PATH, DEMO_API_KEY: DEMO_KEY },
  stdio: ['ignore', 'pipe', 'inherit'],
})
const lines = []
let buffered = ''
sluice.stdout.on('data', chunk => {
  buffered += chunk
  const parts = buffered.split('\n')
  buffered = parts.pop()
  for (const l of parts) if (l !== '') lines.push(JSON.parse(l))
})
const exited = new Promise(resolve => sluice.once('exit', code => resolve(code)))

async function waitFor (find, what) {
  const deadline = Date.now() + 20_000
  for (;;) {
    const found = lines.find(find)
    if (found !== undefined) return found
    if (Date.now() > deadline || sluice.exitCode !== null) throw new Error(`demo: no ${what} from sluice`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

let code = 0
try {
  const { proxy, admin } = await waitFor(l => l.msg === 'listening', 'listening line')
  say(`sluice is up: proxy ${proxy}, admin ${admin}; the stand-in vendor "demo" is at ${vendorUrl}.`)
  say('The application calls sluice and holds no key; sluice injects the vendor\'s key (policy: demo/policies/demo.yaml).\n')

  const call = async (n, method, path, text, body) => {
    const res = await fetch(`${proxy}/demo${path}`, {
      method,
      headers: { 'x-request-id': `demo-${n}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const answer = await res.text()
    say(`${n}. ${text}`)
    say(`   ${method} /demo${path} -> ${res.status} ${answer}`)
    const line = await waitFor(l => l.msg === 'request' && l.reqId === `demo-${n}`, `log line for call ${n}`)
    return { res, line }
  }

  await call(1, 'GET', '/v1/hello', 'A proxied call: the vendor saw the injected key ("authorized":true).')

  const flaky = await call(2, 'GET', '/v1/flaky', 'A retry: the vendor answered 503 once; sluice waited and tried again.')
  say(`   log: attempts ${flaky.line.attempts}, status ${flaky.line.status}`)

  const created = await call(3, 'POST', '/v1/users', 'A scrubbed log line: the e-mail address is in the call, not in the log.', { name: 'Jane', email: 'jane.doe@example.com' })
  const { vendor: v, method, path, status, reqBody, resBody } = created.line
  say(`   log: ${JSON.stringify({ vendor: v, method, path, status, reqBody, resBody })}`)

  await call(4, 'GET', '/v1/hello', 'The last token: the bucket holds 5 (refill 1/min), and the retry of call 2 took one too.')
  const refused = await call(5, 'GET', '/v1/hello', 'A rate-limit refusal: the bucket is empty, so sluice answers 429 itself; the vendor never sees the call.')
  say(`   Retry-After: ${refused.res.headers.get('retry-after')} s, x-sluice-error: ${refused.res.headers.get('x-sluice-error')}`)

  const all = lines.map(l => JSON.stringify(l)).join('\n')
  if (all.includes(DEMO_KEY) || all.includes('jane.doe@example.com')) throw new Error('demo: a secret or an e-mail address reached the log')
  say('\nNo log line holds the key or the e-mail address. Logs are JSON; for reading by eye: npm start | npx pino-pretty')
  say('Next: write a policy for your vendor (README.md, "Write a policy"), then `npx sluice validate`.')
} catch (err) {
  process.stderr.write(`${err.message}\n`)
  code = 1
} finally {
  sluice.kill('SIGTERM')
  await exited
  vendor.close()
  rmSync(dir, { recursive: true, force: true })
}
process.exitCode = code
