// Fixed rate: every target at the same calls/s (open loop), A B A B rounds as
// in saturation. The figure that matters is the latency sluice adds to a call:
// each round's p50 and p99 minus direct's in the same round.
import { setTimeout as sleep } from 'node:timers/promises'
import { measureRun } from '../measure.js'
import { paced } from '../paced.js'
import { differences, interleavedRuns, sluiceFacts, summarize } from '../stats.js'
import { progress } from '../progress.js'

export const RATE_METRICS = Object.freeze(['callsPerSec', 'p50', 'p99', 'p999', 'cpuUsPerCall', 'peakRssMb'])
const PAUSE_BETWEEN_RUNS_MS = 300

export async function runRate ({ options, targets, redis, pin }) {
  const samples = []
  const ids = targets.map(t => t.id)
  for (const { target, round } of interleavedRuns(targets, options.rounds)) {
    const sample = await measureRun({
      target,
      round,
      redis,
      pin,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      drive: (sec) => paced({ url: target.url, rate: options.rate, durationSec: sec, connections: options.connections }),
    })
    samples.push(sample)
    progress(`round ${round + 1}/${options.rounds} ${target.label}: p50 ${sample.metrics.p50} ms, p99 ${sample.metrics.p99} ms at ${options.rate} calls/s`)
    await sleep(PAUSE_BETWEEN_RUNS_MS)
  }
  const summary = {}
  const added = {}
  for (const id of ids) {
    summary[id] = summarize(samples, id, RATE_METRICS, ['direct', 'baseline'])
    added[id] = {
      direct: { p50: differences(samples, id, 'direct', 'p50'), p99: differences(samples, id, 'direct', 'p99') },
      baseline: { p50: differences(samples, id, 'baseline', 'p50'), p99: differences(samples, id, 'baseline', 'p99') },
    }
  }
  return {
    mode: 'rate',
    rate: options.rate,
    targetIds: ids,
    runs: { paced: samples },
    summaries: { paced: summary },
    added,
    facts: {
      rate: options.rate,
      addedP50Ms: added.full?.direct.p50?.median ?? null,
      addedP99Ms: added.full?.direct.p99?.median ?? null,
      ...sluiceFacts(samples),
    },
  }
}
