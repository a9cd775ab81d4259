// Latencies at microsecond resolution. autocannon's own histogram keeps whole
// milliseconds, too coarse for "adds at most 0.3 ms"; this one counts each
// response in a fixed array slot (no allocation per call) and keeps the rare
// value past 100 ms in a list.
const SLOTS = 100_000 // 1 µs each: 0 to 99.999 ms

export class LatencyHistogram {
  constructor () {
    this.counts = new Uint32Array(SLOTS)
    this.overflow = []
    this.count = 0
  }

  /** Records one latency given in milliseconds. */
  recordMs (ms) {
    const us = Math.round(ms * 1000)
    if (us < SLOTS) this.counts[us < 0 ? 0 : us]++
    else this.overflow.push(us)
    this.count++
  }

  /** The latency at quantile q (0..1), in milliseconds; null when empty. */
  quantileMs (q) {
    if (this.count === 0) return null
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let us = 0; us < SLOTS; us++) {
      seen += this.counts[us]
      if (seen >= rank) return us / 1000
    }
    const sorted = this.overflow.slice().sort((a, b) => a - b)
    return sorted[rank - seen - 1] / 1000
  }

  summary () {
    return { p50: this.quantileMs(0.5), p99: this.quantileMs(0.99), p999: this.quantileMs(0.999) }
  }
}
