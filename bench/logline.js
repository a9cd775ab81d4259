// The request log line alone, in this process, A/B in one run: the old way
// (a RequestLine object, formatRequestLine's string, LineBatcher.write copying
// it into the batch) against logCall serialising straight into the batch
// buffer. Prints CPU ns and JS-heap bytes allocated per line, medians of the rounds
// with their range; the two ways take turns within each round. Asserts nothing.
//
//   node bench/logline.js [--rounds N] [--lines N] [--smoke]
//
// Needs dist/ (npm run build). Restarts itself with --expose-gc and a large
// young generation, so a chunk of lines is allocated without a scavenge and
// the heap's growth over it is what the chunk allocated. The batch buffers
// themselves (32 KB each, outside the JS heap) are the same for both ways and
// not counted.
import { spawnSync } from 'node:child_process'
import { openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import { LineBatcher } from '../dist/observability/line-batcher.js'
import { createLogger, destinationOf } from '../dist/observability/logger.js'
import { formatRequestLine, logCall } from '../dist/observability/request-line.js'

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '31' }, lines: { type: 'string', default: '10000' }, smoke: { type: 'boolean', default: false } } })
const rounds = values.smoke ? 3 : Number(values.rounds)
const perChunk = values.smoke ? 500 : Number(values.lines)

const out = new LineBatcher(openSync('/dev/null', 'w'), { batchBytes: 32 * 1024, flushMs: 250, maxPendingBytes: 1 << 30 })
const logger = createLogger('info', out)
const flushed = () => new Promise(resolve => out.flush(resolve))

/** What finish hands over for one call: a CallContext's fields, and its verdict on the call. */
function calls (kind) {
  return Array.from({ length: 1000 }, (_, i) => {
    const ctx = {
      requestId: `01J${(1e9 + i * 7919).toString(36).toUpperCase()}Q7ZK${i}`,
      method: i % 4 === 0 ? 'POST' : 'GET',
      upstreamMs: 3 + (i * 37 % 4000) / 97,
      attempts: 1,
      waitMs: 0,
      wouldLimit: false,
      cutOff: false,
      clientGone: false,
      trace: undefined,
      rateBucket: undefined,
      cost: undefined,
    }
    const call = { ctx, vendor: 'stripe', path: `/stripe/v1/charges/ch_${i}3Mtw?limit=10&expand=customer`, status: 200, durationMs: Math.round((4 + (i * 53 % 5000) / 89) * 10) / 10, error: undefined, cause: undefined }
    if (kind === 'error') {
      Object.assign(ctx, { attempts: 3, waitMs: 250.2, trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }, rateBucket: 'per-second', cost: 5 })
      Object.assign(call, { status: 504, error: 'upstream_timeout', cause: 'UND_ERR_HEADERS_TIMEOUT' })
    }
    if (kind === 'utf8') call.path = `/stripe/v1/customers/ch_${i}?name=Zoë%20Müller&city=Zürich&q="é"`
    return call
  })
}

/** The old way, as finish wrote it: the object, then writeRequestLine. */
function oldWay (c) {
  const ctx = c.ctx
  const line = {
    reqId: ctx.requestId,
    vendor: c.vendor,
    method: ctx.method,
    path: c.path,
    status: c.status,
    durationMs: c.durationMs,
    upstreamMs: Math.round(ctx.upstreamMs * 10) / 10,
    attempts: ctx.attempts,
    waitMs: Math.round(ctx.waitMs),
    error: c.error,
  }
  if (ctx.trace !== undefined) line.traceId = ctx.trace.traceId
  if (c.cause !== undefined) line.cause = c.cause
  if (ctx.wouldLimit) line.wouldLimit = true
  if (ctx.cutOff) line.cutOff = true
  if (ctx.clientGone) line.clientGone = true
  if (ctx.rateBucket !== undefined) line.bucket = ctx.rateBucket
  if (ctx.cost !== undefined && ctx.cost !== 1) line.cost = ctx.cost
  destinationOf(logger)?.write(formatRequestLine(line, Date.now()))
}

function newWay (c) {
  logCall(logger, c.ctx, c.vendor, c.path, c.status, c.durationMs, c.error, c.cause)
}

/** CPU ns per line (this process's, less disturbed by a busy machine than wall time) and heap bytes per line over one chunk (undefined bytes when a scavenge ran in it). */
function chunk (way, list) {
  globalThis.gc()
  const heapBefore = v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_used_size
  const start = process.cpuUsage()
  for (let i = 0; i < perChunk; i++) way(list[i % list.length])
  const cpu = process.cpuUsage(start)
  const ns = (cpu.user + cpu.system) * 1e3 / perChunk
  const heapAfter = v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_used_size
  return { ns, bytes: heapAfter >= heapBefore ? (heapAfter - heapBefore) / perChunk : undefined }
}

const median = (xs) => {
  const s = xs.filter(x => x !== undefined).sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]
}
const range = (xs) => {
  const s = xs.filter(x => x !== undefined)
  return `${Math.min(...s).toFixed(0)}–${Math.max(...s).toFixed(0)}`
}

console.log('| line | way | CPU ns/line (median, range) | heap bytes/line (median, range) | new ÷ old CPU (median, range) |')
console.log('|---|---|---|---|---|')
for (const kind of ['plain', 'error', 'utf8']) {
  const list = calls(kind)
  for (let i = 0; i < 3; i++) { chunk(oldWay, list); chunk(newWay, list); await flushed() } // warm up the JIT
  const res = { old: [], new: [] }
  const ratios = []
  for (let r = 0; r < rounds; r++) {
    // take turns, so drift in the machine's load falls on both
    const first = r % 2 === 0 ? ['old', oldWay] : ['new', newWay]
    const second = r % 2 === 0 ? ['new', newWay] : ['old', oldWay]
    const a = chunk(first[1], list)
    await flushed()
    const b = chunk(second[1], list)
    await flushed()
    res[first[0]].push(a)
    res[second[0]].push(b)
    const o = first[0] === 'old' ? a : b
    const n = first[0] === 'old' ? b : a
    ratios.push(n.ns / o.ns)
  }
  for (const way of ['old', 'new']) {
    const ns = res[way].map(x => x.ns)
    const bytes = res[way].map(x => x.bytes)
    const ratio = way === 'new' ? `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : ''
    console.log(`| ${kind} | ${way} | ${median(ns).toFixed(0)} (${range(ns)}) | ${median(bytes).toFixed(0)} (${range(bytes)}) | ${ratio} |`)
  }
}
console.log(`\n${rounds} rounds of ${perChunk} lines per way and line kind, node ${process.version}`)
