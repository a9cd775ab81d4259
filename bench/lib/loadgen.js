// The C load generator and stall meter (bench/gen/loadgen.c), compiled once
// per harness run into the scratch folder with the machine's cc. Each run of
// it is a process of its own: no event loop, no GC, nothing shared with the
// harness. Without cc the harness falls back to its Node generators and says
// so in the report (the stall meter then does not run).
import { execFile, execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SOURCE = fileURLToPath(new URL('../gen/loadgen.c', import.meta.url))
/** The stall meter sleeps this long in a loop and counts wake-ups later than the threshold. */
export const STALL_SLEEP_US = 1000
export const STALL_THRESHOLD_US = 2000

/** Compiles the generator into `dir`: { path } or { path: undefined, why }. */
export function buildLoadgen (dir) {
  const out = join(dir, 'loadgen')
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (cc === undefined || cc === '') continue
    try {
      execFileSync(cc, ['-O2', '-o', out, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] })
      return { path: out }
    } catch (err) {
      if (err.code === 'ENOENT') continue
      return { path: undefined, why: `${cc} failed: ${String(err.stderr ?? err.message).trim().slice(0, 300)}` }
    }
  }
  return { path: undefined, why: 'no C compiler (cc, gcc, clang) on PATH' }
}

/**
 * One run: open loop at `rate` calls/s, or closed loop when `rate` is
 * undefined. Resolves in the shape the other generators use.
 */
export function runLoadgen ({ path, url, rate, durationSec, connections }) {
  const u = new URL(url)
  const args = rate === undefined
    ? ['closed', u.port, u.pathname + u.search, String(durationSec), String(connections)]
    : ['rate', u.port, u.pathname + u.search, String(rate), String(durationSec), String(connections)]
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: (durationSec + 40) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`loadgen failed: ${err.message} ${stderr}`.trim()))
      try {
        const r = JSON.parse(stdout)
        const ms = (v) => (v < 0 ? null : v)
        resolve({
          elapsedMs: r.elapsedMs,
          sent: r.sent,
          responses: r.responses,
          non2xx: r.non2xx,
          socketErrors: r.socketErrors,
          latency: { p50: ms(r.p50), p99: ms(r.p99), p999: ms(r.p999) },
        })
      } catch (e) {
        reject(new Error(`loadgen: unexpected output: ${stdout.slice(0, 300)}`))
      }
    })
  })
}

/**
 * Starts the stall meter (it inherits the harness's CPU, the generator's).
 * Resolves once it measures; `stop()` resolves with
 * { samples, stalls, maxOversleepMs, stalledMs }.
 */
export function startStallMeter (path) {
  const child = spawn(path, ['stall', String(STALL_SLEEP_US), String(STALL_THRESHOLD_US)], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', (c) => { out += c.toString() })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const ready = new Promise((resolve, reject) => {
    const check = () => { if (out.includes('"ready"')) { child.stdout.off('data', check); resolve() } }
    child.stdout.on('data', check)
    child.once('error', reject)
    child.once('exit', () => reject(new Error('stall meter exited early')))
  })
  return ready.then(() => ({
    stop: async () => {
      child.kill('SIGTERM')
      await exited
      const line = out.split('\n').find(l => l.includes('"samples"'))
      return line === undefined ? null : JSON.parse(line)
    },
  }))
}
