// npm run bench:jobs: the cost of asynchronous calls (Prefer: respond-async).
// For each job store (the file journal, Redis) it starts a real sluice
// (dist/cli.js start) in front of a fast local vendor, then
//   1. accepts JOBS jobs from CONNECTIONS concurrent clients: jobs accepted per
//      second and the 202's latency (p50 / p99); the journal syncs each batch
//      of appends to disk before its 202s, Redis stores each job in 3 commands;
//   2. measures delivery: jobs delivered per second from the first delivery
//      to the last (the workers run while jobs are still being accepted).
// Prints a markdown table. Exits 0 whatever the figures are.
//   node bench/jobs.js [--jobs N] [--connections N]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { startRedis } from './lib/redis.js'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const { values } = parseArgs({ options: { jobs: { type: 'string' }, connections: { type: 'string' } } })
const JOBS = Number(values.jobs ?? 5000)
const CONNECTIONS = Number(values.connections ?? 32)

function startVendor () {
  const state = { delivered: 0, first: 0, last: 0 }
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const now = performance.now()
      if (state.delivered++ === 0) state.first = now
      state.last = now
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve({ server, state, url: `http://127.0.0.1:${server.address().port}` })))
}

function startSluice (policies, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'start', '--policies', policies, '--port', '0', '--admin-port', '0', '--log-level', 'warn'], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let buf = ''
    child.stdout.on('data', (c) => {
      buf += c.toString()
      for (const line of buf.split('\n')) {
        if (!line.includes('"listening"')) continue
        try {
          const o = JSON.parse(line)
          resolve({ child, proxy: o.proxy })
        } catch { /* a partial line */ }
      }
    })
    child.once('exit', (code) => reject(new Error(`sluice exited (${code}) before listening`)))
  })
}

function percentile (sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

async function run (label, env, prefer = true) {
  const vendor = await startVendor()
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-jobs-'))
  writeFileSync(join(dir, 'acme.yaml'), [
    'vendor: acme',
    `upstream: ${vendor.url}`,
    'network: { allowPrivate: true }',
    'circuitBreaker: { enabled: false }',
    'async:',
    '  enabled: true',
    '',
  ].join('\n'))
  const sluice = await startSluice(dir, { SLUICE_DATA_DIR: join(dir, 'data'), ...env })
  const pool = new Pool(sluice.proxy, { connections: CONNECTIONS, pipelining: 1 })
  const body = JSON.stringify({ amount: 1000, currency: 'eur', description: 'benchmark job' })
  const latencies = []
  let next = 0
  let refused = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (next < JOBS) {
      next++
      const t0 = performance.now()
      const res = await pool.request({ path: '/acme/v1/charges', method: 'POST', headers: prefer ? { prefer: 'respond-async', 'content-type': 'application/json' } : { 'content-type': 'application/json' }, body })
      await res.body.dump()
      latencies.push(performance.now() - t0)
      if (res.statusCode !== (prefer ? 202 : 200)) refused++
    }
  }))
  const acceptSec = (performance.now() - started) / 1000
  const until = Date.now() + 300_000
  while (vendor.state.delivered < JOBS - refused && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
  const deliverSec = (vendor.state.last - vendor.state.first) / 1000
  latencies.sort((a, b) => a - b)
  await pool.close()
  sluice.child.kill('SIGTERM')
  await new Promise(resolve => sluice.child.once('exit', resolve))
  vendor.server.close()
  rmSync(dir, { recursive: true, force: true })
  return {
    label,
    accepted: Math.round((JOBS - refused) / acceptSec),
    p50: percentile(latencies, 0.5).toFixed(2),
    p99: percentile(latencies, 0.99).toFixed(2),
    delivered: Math.round(vendor.state.delivered / Math.max(deliverSec, 0.001)),
    refused,
  }
}

const rows = []
rows.push(await run('for comparison: the same call without Prefer (answered by the vendor)', {}, false))
rows.push(await run('journal (SLUICE_DATA_DIR, fsync before 202)', {}))
const redis = await startRedis()
try {
  rows.push(await run('Redis Streams (standalone, loopback)', { SLUICE_REDIS_URL: redis.url }))
} finally {
  await redis.stop()
}
process.stdout.write(`\n${JOBS} jobs, ${CONNECTIONS} concurrent clients, body ${JSON.stringify({ amount: 1000, currency: 'eur', description: 'benchmark job' }).length} B\n\n`)
process.stdout.write('| store | accepted jobs/s | 202 p50 | 202 p99 | delivered jobs/s | not accepted |\n|---|---|---|---|---|---|\n')
for (const r of rows) process.stdout.write(`| ${r.label} | ${r.accepted} | ${r.p50} ms | ${r.p99} ms | ${r.delivered} | ${r.refused} |\n`)
