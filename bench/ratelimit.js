// What a shared rate limit costs a call: the same GET through sluice with rate
// limiting off, and through sluice taking one token from a Redis bucket big
// enough never to refuse, measured back to back in one run with the same
// autocannon settings; and how many Redis commands and socket reads each call
// costs (INFO commandstats / INFO stats before and after).
//
//   npm run build && node bench/ratelimit.js [--duration 2] [--rounds 3] [--connections 50] [--serial 2000]
//
// Two measures: autocannon at a fixed connection count for throughput (its
// latencies are whole milliseconds), and calls sent one at a time on one
// connection, timed to the microsecond, for the latency a token adds when
// nothing queues.
//
// The two cases alternate for a few rounds (a b a b ...) so that a neighbour's
// burst of CPU on a shared machine lands on both; each figure is the median
// round.
//
// Everything runs on 127.0.0.1 and is started here: a node:http upstream and
// each sluice (`node dist/cli.js start`) as child processes, so none shares an
// event loop with autocannon, and a redis-server with persistence off.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { Client } from 'undici'
import { freePort } from './lib/redis.js'

const CLI = new URL('../dist/cli.js', import.meta.url).pathname
// found on PATH, like any other program
const REDIS_SERVER = 'redis-server'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    serial: { type: 'string', default: '2000' },
  },
})
const DURATION_S = Number(args.duration)
const WARMUP_S = Number(args.warmup)
const ROUNDS = Number(args.rounds)
const SERIAL_CALLS = Number(args.serial)
const CONNECTIONS = Number(args.connections)

// The upstream answers every call at once with a small JSON body, built once.
const UPSTREAM_SOURCE = `
import { createServer } from 'node:http'
const body = Buffer.from(JSON.stringify({ ok: true, data: 'x'.repeat(200) }))
const headers = ['content-type', 'application/json', 'content-length', String(body.length)]
const server = createServer({ keepAliveTimeout: 60000 }, (req, res) => { req.resume(); res.writeHead(200, headers); res.end(body) })
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ listening: 'http://127.0.0.1:' + server.address().port })))
`

const children = []

async function main () {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-ratelimit-'))
  try {
    const upstream = (await startChild([process.execPath, '--input-type=module', '-e', UPSTREAM_SOURCE], line => line.listening)).value
    const redis = await startRedis(dir)
    const env = { SLUICE_REDIS_URL: `redis://127.0.0.1:${redis.port}` }
    const cases = [
      { name: 'a: rate limiting off', ...await startSluice(dir, 'off', `vendor: bench\nupstream: ${upstream}\n`, env) },
      { name: 'b: one Redis bucket', ...await startSluice(dir, 'redis', BUCKET_POLICY(upstream), env) },
    ]
    for (const c of cases) {
      c.load = []
      c.serial = []
      c.calls = 0
      c.cpuMs = 0
      c.redisCpuMs = 0
      c.redisReads = 0
      c.serialReads = 0
    }

    for (const c of cases) await load(c.url, WARMUP_S)
    const before = await redisInfo(redis.client)
    for (let i = 0; i < ROUNDS; i++) {
      for (const c of cases) {
        const cpu = cpuMs(c.pid)
        const r0 = await redisInfo(redis.client)
        const result = await load(c.url, DURATION_S)
        const r1 = await redisInfo(redis.client)
        c.cpuMs += cpuMs(c.pid) - cpu
        c.redisCpuMs += r1.cpuMs - r0.cpuMs
        c.redisReads += r1.reads - r0.reads
        c.calls += result.requests.sent
        c.load.push(result)
      }
      for (const c of cases) {
        const r0 = await redisInfo(redis.client)
        c.serial.push(await serial(c.url, SERIAL_CALLS))
        c.serialReads += (await redisInfo(redis.client)).reads - r0.reads
      }
    }
    const after = await redisInfo(redis.client)
    redis.client.disconnect()

    const [a, b] = cases.map(c => ({ ...c, m: median(c.load), s: medianSerial(c.serial) }))
    console.log(`sluice, rate limiting off (a) and one Redis token per call (b); node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`)
    console.log(`\nautocannon, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S} s per case, a and b alternating (median round; CPU over all rounds):`)
    const row = c => ({
      'calls/s': Math.round(c.m.calls),
      'mean ms': round(c.m.mean, 2),
      'p50 ms': c.m.p50,
      'p99 ms': c.m.p99,
      'sluice CPU µs/call': round(c.cpuMs * 1000 / c.calls, 1),
      'Redis CPU µs/call': round(c.redisCpuMs * 1000 / c.calls, 1),
      'non-2xx': c.m.non2xx,
      errors: c.m.errors,
    })
    const ra = row(a)
    const rb = row(b)
    const ratios = {}
    for (const k of ['calls/s', 'mean ms', 'p50 ms', 'p99 ms', 'sluice CPU µs/call']) ratios[k] = round(rb[k] / ra[k], 2)
    console.table({ [a.name]: ra, [b.name]: rb, 'b / a': ratios })

    console.log(`\none call at a time on one keep-alive connection, ${SERIAL_CALLS} calls per round (median round), ms:`)
    const diff = {}
    for (const k of Object.keys(a.s)) diff[k] = round(b.s[k] - a.s[k], 3)
    console.table({ [a.name]: a.s, [b.name]: b.s, 'b - a': diff })

    const bCalls = b.calls + SERIAL_CALLS * ROUNDS
    const commands = {}
    for (const [name, n] of Object.entries(after.calls)) {
      const d = n - (before.calls[name] ?? 0)
      if (d > 0) commands[name.toUpperCase()] = round(d / bCalls, 3)
    }
    console.log('\nRedis, per call of b (a sends Redis nothing):')
    console.log(`  socket reads (network round trips): ${round(b.redisReads / b.calls, 3)} under load (auto-pipelined), ${round(b.serialReads / (SERIAL_CALLS * ROUNDS), 3)} one call at a time`)
    console.log(`  commands (INFO commandstats; it counts the commands the script runs inside its one EVALSHA too): ${JSON.stringify(commands)}`)
  } finally {
    for (const c of children.reverse()) c.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}

/** A bucket far too big ever to refuse: every call pays for a decision in Redis, none is limited. */
const BUCKET_POLICY = upstream => [
  'vendor: bench',
  `upstream: ${upstream}`,
  'rateLimit:',
  '  buckets:',
  '    - name: burst',
  '      capacity: 1000000000',
  '      refill: 1000000000/s',
  '      onLimit: reject',
  '',
].join('\n')

/** User + system CPU of a child process so far, ms (Linux /proc; NaN elsewhere). */
function cpuMs (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

/** Latency percentiles (ms) of `n` calls sent one after another on one keep-alive connection. */
async function serial (url, n) {
  const { origin, pathname } = new URL(url)
  const client = new Client(origin)
  const times = new Float64Array(n)
  try {
    for (let i = 0; i < n; i++) {
      const started = performance.now()
      const res = await client.request({ path: pathname, method: 'GET' })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`serial call answered ${res.statusCode}`)
      times[i] = performance.now() - started
    }
  } finally {
    await client.close()
  }
  times.sort()
  const at = q => round(times[Math.min(n - 1, Math.floor(n * q))], 3)
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

function medianSerial (rounds) {
  const pick = key => rounds.map(r => r[key]).sort((x, y) => x - y)[Math.floor(rounds.length / 2)]
  return { p50: pick('p50'), p90: pick('p90'), p99: pick('p99') }
}

/** Per figure, the median of the rounds' values. */
function median (rounds) {
  const pick = get => rounds.map(get).sort((x, y) => x - y)[Math.floor(rounds.length / 2)]
  return {
    calls: pick(r => r.requests.average),
    mean: pick(r => r.latency.mean),
    p50: pick(r => r.latency.p50),
    p99: pick(r => r.latency.p99),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors + r.timeouts, 0),
  }
}

function round (x, digits) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function load (url, seconds) {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 })
}

/** A sluice child process on free ports: its proxy URL (with the vendor's path) and pid. */
async function startSluice (dir, name, policy, env) {
  const policies = join(dir, name)
  await mkdir(policies)
  await writeFile(join(policies, 'bench.yaml'), policy)
  const { value, pid } = await startChild(
    [process.execPath, CLI, 'start', '--port', '0', '--admin-port', '0', '--policies', policies, '--log-level', 'warn'],
    line => line.msg === 'listening' ? line.proxy : undefined,
    env
  )
  return { url: `${value}/bench/v1/thing`, pid }
}

/** Spawns argv; resolves with pick(line) for the first JSON line on stdout where it is defined, and the pid. */
function startChild (argv, pick, env = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let buf = ''
    child.stdout.on('data', chunk => {
      buf += chunk
      let nl
      while ((nl = buf.indexOf('\n')) !== -1) {
        const text = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        try {
          const v = pick(JSON.parse(text))
          if (v !== undefined) resolve({ value: v, pid: child.pid })
        } catch { /* not JSON */ }
      }
    })
    child.once('exit', code => reject(new Error(`${argv[1]} exited (${code}) before it was ready`)))
  })
}

async function startRedis (dir) {
  const port = await freePort()
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  children.push(child)
  // Commands wait in the offline queue until the server accepts connections.
  const client = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 25, maxRetriesPerRequest: null })
  client.on('error', () => {})
  await client.ping()
  return { port, client }
}

/** Calls per command (INFO commandstats, INFO itself left out), socket reads and CPU ms (INFO stats, cpu). */
async function redisInfo (client) {
  const text = await client.info('commandstats') + await client.info('stats') + await client.info('cpu')
  const calls = {}
  for (const m of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') calls[m[1]] = Number(m[2])
  }
  const num = name => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN)
  return { calls, reads: num('total_reads_processed'), cpuMs: (num('used_cpu_user') + num('used_cpu_sys')) * 1000 }
}

main().catch(err => {
  console.error(err)
  for (const c of children) c.kill('SIGKILL')
  process.exit(1)
})
