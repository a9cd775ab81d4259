// What the circuit breaker costs a call, in this process: check() and admit()
// before the call and success() or failure() after it, as the pipeline asks
// them (src/pipeline/admit.ts, finish.ts), through the VendorBreaker in dist/
// and, with --against, through other builds' in the same run (a b a b), e.g.
// main's before a change to the breaker. Prints a markdown table; asserts nothing.
//
//   npm run build && node bench/breaker.js [--against /other/checkout/dist ...] [--calls 200000] [--rounds 7]
//
// ns/call: wall time of a run of --calls calls ÷ calls, the run awaiting every
// 100 calls so promise work a breaker queued runs inside it, as it would
// between calls in sluice. B/call: heap growth over 20,000 calls that no GC
// interrupted (the script runs itself again with --expose-gc and a young
// generation large enough to hold them), the heap emptied by gc() before.
// `noop` is the harness alone: the same calls on an object that does nothing.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

const SEMI_SPACE_MB = 128
if (typeof globalThis.gc !== 'function') {
  // Again, with a GC the allocation count can call and one that cannot interrupt it.
  const flags = ['--expose-gc', `--min-semi-space-size=${SEMI_SPACE_MB}`, `--max-semi-space-size=${SEMI_SPACE_MB}`]
  const child = spawnSync(process.execPath, [...flags, ...process.execArgv, new URL(import.meta.url).pathname, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(child.status ?? 1)
}

const { values } = parseArgs({
  options: {
    against: { type: 'string', multiple: true, default: [] },
    calls: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '7' },
    smoke: { type: 'boolean', default: false },
  },
})
const CALLS = values.smoke ? 2000 : Number(values.calls)
const ROUNDS = values.smoke ? 1 : Number(values.rounds)
const ALLOC_CALLS = values.smoke ? 2000 : 20_000
const BATCH = 100

const HERE = new URL('../dist/', import.meta.url)
const { compilePolicy } = await import(new URL('policy/compile.js', HERE).href)
const { applyDefaults } = await import(new URL('policy/defaults.js', HERE).href)

const variants = [{ name: 'noop', VendorBreaker: NoopBreaker }]
for (const [name, dist] of [['this dist/', HERE.pathname], ...values.against.map(d => [d, d])]) {
  const mod = await import(pathToFileURL(resolve(dist, 'resilience/breaker.js')).href)
  variants.push({ name, VendorBreaker: mod.VendorBreaker })
}

// The default breaker section but a failure rate no scenario reaches: the
// breaker stays closed and every report is counted, the case that costs most
// and the one a healthy vendor is in.
const policy = compilePolicy(applyDefaults({
  vendor: 'bench',
  upstream: 'http://127.0.0.1:1',
  circuitBreaker: { failureRate: '50%', minimumRequests: 20, window: '10s', openFor: '30s' },
}, undefined), 'bench.yaml').circuitBreaker

const scenarios = [
  { name: 'every call succeeds', failEvery: 0 },
  { name: '1 call in 50 fails', failEvery: 50 },
]

function NoopBreaker () {}
NoopBreaker.prototype.check = function () { return ADMITTED }
NoopBreaker.prototype.admit = function () { return ADMITTED }
NoopBreaker.prototype.success = function () {}
NoopBreaker.prototype.failure = function () {}
NoopBreaker.prototype.shutdown = function () {}
const ADMITTED = Object.freeze({ ok: true, probe: false })

// Each breaker gets its own copy of the loop, so one breaker's calls do not
// make the loop's call sites polymorphic for the next (in sluice they see one
// class). A copy compiled from source: closures of one function literal share
// their type feedback.
const DRIVE = `return async function drive (breaker, calls, failEvery) {
  let admitted = 0
  for (let i = 0; i < calls; i++) {
    if (breaker.check().ok) admitted++
    if (breaker.admit().ok) admitted++
    if (failEvery > 0 && i % failEvery === failEvery - 1) breaker.failure()
    else breaker.success()
    if (i % ${BATCH} === ${BATCH - 1}) await undefined
  }
  await new Promise(resolve => setImmediate(resolve))
  return admitted
}`
// eslint-disable-next-line no-new-func
for (const v of variants) v.drive = new Function(DRIVE)()

async function nsPerCall ({ VendorBreaker, drive }, failEvery) {
  const breaker = new VendorBreaker(policy, () => {})
  const start = process.hrtime.bigint()
  await drive(breaker, CALLS, failEvery)
  const ns = Number(process.hrtime.bigint() - start) / CALLS
  breaker.shutdown()
  return ns
}

let gcs = 0
new PerformanceObserver(list => { gcs += list.getEntries().length }).observe({ entryTypes: ['gc'] })
// GC entries arrive on a later turn of the event loop than setImmediate's
const settle = () => new Promise(resolve => setTimeout(resolve, 20))

/** heap growth per call over a run no GC interrupted; undefined when every try was interrupted */
async function bytesPerCall ({ VendorBreaker, drive }, failEvery) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const breaker = new VendorBreaker(policy, () => {})
    await drive(breaker, 1000, failEvery) // its first calls build what it keeps
    globalThis.gc()
    await settle()
    const seen = gcs
    const before = process.memoryUsage().heapUsed
    await drive(breaker, ALLOC_CALLS, failEvery)
    const after = process.memoryUsage().heapUsed
    breaker.shutdown()
    await settle()
    if (gcs === seen) return (after - before) / ALLOC_CALLS
  }
  return undefined
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const range = (xs, digits) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

const rows = []
for (const { name: scenario, failEvery } of scenarios) {
  for (const v of variants) await nsPerCall(v, failEvery) // warm up the JIT
  const ns = variants.map(() => [])
  const bytes = variants.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    // rotate the order, so a neighbour's burst of CPU lands on each in turn
    for (let k = 0; k < variants.length; k++) {
      const i = (k + round) % variants.length
      ns[i].push(await nsPerCall(variants[i], failEvery))
      const b = await bytesPerCall(variants[i], failEvery)
      if (b !== undefined) bytes[i].push(b)
    }
  }
  const firstReal = 1 // the first variant after noop: this dist/
  variants.forEach((v, i) => {
    const ratio = i > firstReal ? ns[i].map((x, r) => x / ns[firstReal][r]) : undefined
    rows.push(`| ${scenario} | ${v.name} | ${range(ns[i], 0)} | ${ratio === undefined ? '' : `${range(ratio, 2)}×`} | ${bytes[i].length === 0 ? 'n/a' : range(bytes[i], 1)} |`)
  })
}

process.stdout.write([
  `## Circuit breaker (in-process, per call: check + admit + report; ${CALLS} calls × ${ROUNDS} rounds, median (min–max))`,
  '',
  '| scenario | breaker | ns/call | ÷ this dist/ (same round) | B/call allocated |',
  '| --- | --- | --- | --- | --- |',
  ...rows,
  '',
].join('\n') + '\n')
