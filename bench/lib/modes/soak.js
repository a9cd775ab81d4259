// Soak: sluice with the full policy at a fixed, moderate rate for a long
// while, its resident memory sampled every few seconds. Flat means the mean
// RSS of the last minute is within 10 % of the first minute's.
import { measureRun } from '../measure.js'
import { paced } from '../paced.js'
import { memory } from '../proc-stats.js'
import { progress } from '../progress.js'

const MB = 1024 * 1024
const SAMPLE_EVERY_SEC = 5
const WINDOW_SEC = 60

export async function runSoak ({ options, targets, redis, pin }) {
  const target = targets.find(t => t.id === 'full')
  // A short soak (the smoke) samples more often and compares thirds instead of minutes.
  const everySec = Math.min(SAMPLE_EVERY_SEC, options.soakSec / 6)
  const windowSec = Math.min(WINDOW_SEC, options.soakSec / 3)
  const rssSamples = []
  progress(`soak: ${target.label} at ${options.rate} calls/s for ${options.soakSec} s`)
  const sample = await measureRun({
    target,
    round: 0,
    redis,
    pin,
    warmupSec: options.warmupSec,
    durationSec: options.soakSec,
    drive: async (sec) => {
      if (sec !== options.soakSec) return paced({ url: target.url, rate: options.rate, durationSec: sec, connections: options.connections })
      const started = performance.now()
      const timer = setInterval(() => {
        const { rss } = memory(target.pid)
        const t = (performance.now() - started) / 1000
        if (rss !== null) rssSamples.push({ t: Math.round(t * 10) / 10, rssMb: rss / MB })
        if (Math.round(t) % 60 === 0) progress(`soak: ${Math.round(t)} s, RSS ${(rss / MB).toFixed(1)} MB`)
      }, everySec * 1000)
      try {
        return await paced({ url: target.url, rate: options.rate, durationSec: sec, connections: options.connections })
      } finally {
        clearInterval(timer)
      }
    },
  })
  const first = mean(rssSamples.filter(s => s.t <= windowSec + 0.5).map(s => s.rssMb))
  const last = mean(rssSamples.filter(s => s.t >= options.soakSec - windowSec - 0.5).map(s => s.rssMb))
  const growthPct = first === null || last === null ? null : (last - first) / first * 100
  return {
    mode: 'soak',
    rate: options.rate,
    soakSec: options.soakSec,
    windowSec,
    targetIds: ['full'],
    runs: { paced: [sample] },
    rssSamples,
    rss: { firstWindowMb: first, lastWindowMb: last, growthPct },
    facts: {
      redisCallsPerCall: sample.metrics.redisCallsPerCall,
      peakRssMb: sample.metrics.peakRssMb,
      rssGrowthPct: growthPct,
      sluiceErrors: sample.metrics.errors,
    },
  }
}

function mean (xs) {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length
}
