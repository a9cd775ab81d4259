// A histogram for the two observations every call makes (request and upstream
// duration), exposed through prom-client's registry in exactly the text
// prom-client's own Histogram writes. prom-client's observe() builds a label
// object, validates and hashes it and allocates a closure on every call: about
// 1 µs each, 2-3 % of a call at saturation (bench/README.md). Here a vendor's
// series is resolved once and an observation is a bucket search and three adds.
import type { Registry } from 'prom-client'

/** One label set's series: its per-bucket counts (not cumulative), sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (private readonly bounds: readonly number[], readonly labels: Readonly<Record<string, string>>) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    if (!Number.isFinite(value)) return
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] ?? 0) + 1
    this.sum += value
    this.count++
  }

  /**
   * The q-quantile (0..1) of what was observed, interpolated within its
   * bucket as Prometheus' histogram_quantile does; undefined before any
   * observation. Past the last bound, the last bound.
   */
  quantile (q: number): number | undefined {
    if (this.count === 0) return undefined
    const rank = q * this.count
    const bounds = this.bounds
    let below = 0
    for (let i = 0; i < bounds.length; i++) {
      const n = this.counts[i] as number
      if (below + n >= rank && n > 0) {
        const lower = i === 0 ? 0 : bounds[i - 1] as number
        return lower + ((bounds[i] as number) - lower) * ((rank - below) / n)
      }
      below += n
    }
    return bounds[bounds.length - 1]
  }
}

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName: string
}

/** What prom-client's Registry reads from a metric: name, help, type and get(). */
export class CallHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly series = new Map<string, HistogramSeries>()

  constructor (
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  /** The series of one label value, created on first use and kept. */
  labels (value: string): HistogramSeries {
    let s = this.series.get(value)
    if (s === undefined) {
      s = new HistogramSeries(this.bounds, { [this.labelName]: value })
      this.series.set(value, s)
    }
    return s
  }

  async get (): Promise<{ name: string, help: string, type: string, values: MetricValue[], aggregator: string }> {
    const values: MetricValue[] = []
    for (const s of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i] as number
        values.push({ labels: { le: this.bounds[i] as number, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` })
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` })
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` })
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset (): void {
    this.series.clear()
  }
}
