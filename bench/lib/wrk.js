// wrk, when it is installed: a second load generator written in C, lighter
// than autocannon, so the direct target is less bounded by the client. Its
// --latency report gives p50 and p99 (no p99.9).
import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

export function wrkPath () {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'wrk')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/** Runs wrk against `url`; resolves in the shape the other load generators use. */
export function runWrk ({ path, url, connections, durationSec }) {
  const seconds = Math.max(1, Math.round(durationSec))
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', 'accept: application/json', url]
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(new Error(`wrk failed: ${err.message}`))
      try {
        resolve(parseWrk(stdout))
      } catch (e) {
        reject(e)
      }
    })
  })
}

/** Reads wrk's text report. */
export function parseWrk (text) {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text)
  if (total === null) throw new Error(`wrk: unexpected output: ${text.slice(0, 300)}`)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text)
  return {
    elapsedMs: toMs(Number(total[2]), total[3]),
    sent: Number(total[1]), // wrk counts completed calls only
    responses: Number(total[1]),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors: socket === null ? 0 : socket.slice(1).reduce((n, v) => n + Number(v), 0),
    latency: { p50: percentile(text, '50'), p99: percentile(text, '99'), p999: null },
  }
}

function percentile (text, p) {
  const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text)
  return m === null ? null : toMs(Number(m[1]), m[2])
}

function toMs (value, unit) {
  switch (unit) {
    case 'us': return value / 1000
    case 'ms': return value
    case 's': return value * 1000
    default: return value * 60_000 // m
  }
}
