// Fixed-rate load, open loop: a call is sent every 1/rate seconds whatever
// the answers do. autocannon's overallRate is not used here: it lets each
// connection send its whole per-second quota back to back at the start of
// each second, a burst at full concurrency, which measures queueing rather
// than the latency a call sees at that rate. Calls go over an undici Pool of
// keep-alive connections; a 1 ms timer releases the calls that are due.
import { Pool } from 'undici'
import { LatencyHistogram } from './latency.js'
import { REQUEST_HEADERS } from './saturate.js'

const TICK_MS = 1
const SETTLE_TIMEOUT_MS = 10_000

/** Sends `rate` calls/s to `url` for `durationSec`. */
export async function paced ({ url, rate, durationSec, connections }) {
  const target = new URL(url)
  const pool = new Pool(target.origin, { connections, pipelining: 1 })
  const path = target.pathname + target.search
  const latency = new LatencyHistogram()
  let sent = 0
  let settled = 0
  let non2xx = 0
  let socketErrors = 0

  const send = () => {
    const t0 = performance.now()
    sent++
    pool.request({ path, method: 'GET', headers: REQUEST_HEADERS })
      .then(async ({ statusCode, body }) => {
        await body.dump()
        return statusCode
      })
      .then((statusCode) => {
        latency.recordMs(performance.now() - t0)
        if (statusCode < 200 || statusCode > 299) non2xx++
      }, () => { socketErrors++ })
      .finally(() => { settled++ })
  }

  const started = performance.now()
  const durationMs = durationSec * 1000
  await new Promise(resolve => {
    const tick = () => {
      const elapsed = performance.now() - started
      if (elapsed >= durationMs) return resolve()
      const due = Math.floor(elapsed * rate / 1000)
      for (let n = due - sent; n > 0; n--) send()
      setTimeout(tick, TICK_MS)
    }
    tick()
  })
  const elapsedMs = performance.now() - started
  const end = Date.now() + SETTLE_TIMEOUT_MS
  const inFlight = () => sent - settled
  while (inFlight() > 0 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 5))
  const unanswered = sent - settled
  // Read before destroy(): destroying the pool fails the unanswered calls, which would count them twice.
  const failed = socketErrors
  await pool.destroy()
  return {
    elapsedMs,
    sent,
    responses: latency.count,
    non2xx,
    socketErrors: failed + unanswered,
    latency: latency.summary(),
  }
}
