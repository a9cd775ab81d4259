// npm run bench:replay: a day of request log lines at 100 calls/s (8.64 M
// lines, about 2 GB) written to /tmp, then the replay of `sluice replay` over
// it, in this process so that its CPU time can be told apart from the wall
// time of a shared, loaded box. The target: under a minute.
//
//   node bench/replay.js [--calls N] [--keep]   (default 8640000; --keep leaves the file)
import { execFileSync } from 'node:child_process'
import { Writable } from 'node:stream'
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { loadPolicies } = await import(new URL('../dist/policy/load.js', import.meta.url).href)
const { runReplay } = await import(new URL('../dist/replay/command.js', import.meta.url).href)
const { values } = parseArgs({ options: { calls: { type: 'string', default: '8640000' }, keep: { type: 'boolean' } } })
const calls = Number(values.calls)
const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-bench-'))
const log = join(dir, 'requests.log')
const policies = join(dir, 'policies')

// Three vendors: a shared bucket, a per-tenant bucket, an allow list.
execFileSync('mkdir', ['-p', policies])
writeFileSync(join(policies, 'stripe.yaml'), `vendor: stripe
upstream: https://api.stripe.com
routes:
  allow:
    - methods: [GET, POST]
      paths: ["/v1/**"]
rateLimit:
  buckets:
    - { name: burst, capacity: 100, refill: 60/s }
    - { name: tenant, capacity: 20, refill: 1/s, key: "header:x-tenant", onLimit: reject }
`)
writeFileSync(join(policies, 'openai.yaml'), 'vendor: openai\nupstream: https://api.openai.com/v1\nrateLimit:\n  buckets:\n    - { name: rpm, capacity: 500, refill: 3000/min }\n')
writeFileSync(join(policies, 'slack.yaml'), 'vendor: slack\nupstream: https://slack.com/api\n')

const VENDORS = [
  { name: 'stripe', paths: ['/stripe/v1/charges', '/stripe/v1/customers/cus_123', '/stripe/v2/admin'] },
  { name: 'openai', paths: ['/openai/chat/completions'] },
  { name: 'slack', paths: ['/slack/chat.postMessage'] },
]

async function writeLog () {
  const out = createWriteStream(log, { highWaterMark: 1 << 20 })
  const start = Date.UTC(2026, 11, 1)
  let seed = 42
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
  let chunk = ''
  for (let i = 0; i < calls; i++) {
    const v = VENDORS[i % 3]
    const path = v.paths[Math.floor(i / 3) % v.paths.length]
    const durationMs = Math.round(rand() * 4000) / 10
    const time = Math.round(start + i * 10 + durationMs)
    const keys = v.name === 'stripe' ? `,"keys":{"tenant":"${(i % 50).toString(16).padStart(16, '0')}"}` : ''
    chunk += `{"level":"info","time":${time},"reqId":"${i.toString(36)}","vendor":"${v.name}","method":"${i % 4 === 0 ? 'POST' : 'GET'}","path":"${path}","status":200,"durationMs":${durationMs},"upstreamMs":${durationMs},"attempts":1,"waitMs":0${keys},"msg":"request"}\n`
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise(resolve => out.once('drain', resolve))
      chunk = ''
    }
  }
  out.end(chunk)
  await new Promise(resolve => out.once('finish', resolve))
}

let t = performance.now()
await writeLog()
const wrote = (performance.now() - t) / 1000
const bytes = statSync(log).size
const { set } = await loadPolicies(policies)
let report = ''
const sink = new Writable({ write (chunk, _enc, cb) { report += chunk; cb() } })
t = performance.now()
const cpu = process.cpuUsage()
await runReplay({ sides: [{ label: 'bench', set }], log, format: 'text', out: sink, err: process.stderr })
const used = process.cpuUsage(cpu)
const seconds = (performance.now() - t) / 1000
const cpuSeconds = (used.user + used.system) / 1e6
process.stdout.write(report)
process.stdout.write(`\nreplay: ${calls} lines (${(bytes / 1e9).toFixed(2)} GB) in ${seconds.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s CPU` +
  ` (${Math.round(calls / seconds / 1000)}k lines/s wall, ${Math.round(calls / cpuSeconds / 1000)}k lines/s of CPU); writing the file took ${wrote.toFixed(1)} s\n`)
if (values.keep) process.stdout.write(`log kept: ${log}\n`)
else rmSync(dir, { recursive: true, force: true })
