// Queue waits of one vendor or bucket, kept whole so percentiles are exact.
// 8 bytes a queued call: a day at 100 calls/s, every call queued, is 70 MB.

export class WaitSamples {
  private values = new Float64Array(64)
  count = 0

  add (ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.count++] = ms
  }

  /** The p-th percentile (0..1) by nearest rank; undefined with no samples. */
  percentiles (ps: readonly number[]): Array<number | undefined> {
    if (this.count === 0) return ps.map(() => undefined)
    const sorted = this.values.slice(0, this.count).sort()
    return ps.map(p => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil(p * this.count) - 1))])
  }
}
