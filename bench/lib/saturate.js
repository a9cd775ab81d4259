// Saturation load: autocannon, closed loop, fixed connections and pipelining.
// It runs in the harness process; latencies go to a microsecond histogram.
import autocannon from 'autocannon'
import { LatencyHistogram } from './latency.js'

export const REQUEST_HEADERS = Object.freeze({ accept: 'application/json' })

/** Drives `url` as fast as it answers for `durationSec`. */
export function saturate ({ url, connections, pipelining, durationSec }) {
  return new Promise((resolve, reject) => {
    const latency = new LatencyHistogram()
    let non2xx = 0
    const started = performance.now()
    const instance = autocannon({
      url,
      connections,
      pipelining,
      duration: durationSec,
      // autocannon checks for the end of the run only at each sample tick: tick often, so it stops on time.
      sampleInt: 100,
      headers: REQUEST_HEADERS,
    }, (err, result) => {
      if (err) return reject(err)
      resolve({
        elapsedMs: performance.now() - started,
        sent: result.requests.sent,
        responses: latency.count,
        non2xx,
        socketErrors: result.errors, // connection errors and timeouts
        latency: latency.summary(),
      })
    })
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      latency.recordMs(responseTimeMs)
      if (statusCode < 200 || statusCode > 299) non2xx++
    })
  })
}
