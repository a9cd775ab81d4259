// CallHistogram must be indistinguishable from prom-client's Histogram on
// /metrics: the same observations give the same exposition text, byte for byte.
import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { CallHistogram } from '../../src/observability/call-histogram.js'

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

function both (): { ours: CallHistogram, theirs: Histogram<'vendor'>, oursText: () => Promise<string>, theirsText: () => Promise<string> } {
  const a = new Registry()
  const b = new Registry()
  const ours = new CallHistogram('x_seconds', 'help "text"\\ here', 'vendor', BOUNDS, a)
  const theirs = new Histogram({ name: 'x_seconds', help: 'help "text"\\ here', labelNames: ['vendor'], buckets: BOUNDS, registers: [b] })
  return { ours, theirs, oursText: () => a.metrics(), theirsText: () => b.metrics() }
}

describe('CallHistogram', () => {
  it('writes what prom-client writes for the same observations, edges and odd label values included', async () => {
    const h = both()
    const values = [0, 0.0005, 0.001, 0.0010001, 0.003, 0.05, 0.0999, 1, 2.5, 7, 30, 60, 61, 1e6, 0.25]
    for (const vendor of ['stripe', 'open"ai', 'back\\slash', 'new\nline']) {
      for (const v of values) {
        h.ours.labels(vendor).observe(v)
        h.theirs.labels(vendor).observe(v)
      }
    }
    expect(await h.oursText()).toBe(await h.theirsText())
  })

  it('writes HELP and TYPE alone when nothing was observed, as prom-client does', async () => {
    const h = both()
    expect(await h.oursText()).toBe(await h.theirsText())
  })

  it('ignores a value that is not finite rather than poisoning the sum', async () => {
    const h = both()
    h.ours.labels('v').observe(Number.NaN)
    h.ours.labels('v').observe(Number.POSITIVE_INFINITY)
    h.ours.labels('v').observe(0.2)
    h.theirs.labels('v').observe(0.2)
    expect(await h.oursText()).toBe(await h.theirsText())
  })

  it('keeps one series per label value', () => {
    const h = both()
    expect(h.ours.labels('a')).toBe(h.ours.labels('a'))
    expect(h.ours.labels('a')).not.toBe(h.ours.labels('b'))
  })
})
